// Every payload decoder of net/messages.hpp (control frames between clients and nodes and
// between nodes), through from_payload<T> exactly as the brokers and the client call it.
//
// Input: [selector] payload...   (selector % 26 picks the message type, in the order of
// `decoders` below; fuzz/make_seeds.cpp writes one seed per type)
//
// Invariants, for every type:
// - a payload that decodes encodes back to exactly the same bytes (the encoding is canonical:
//   one value, one byte string), so decode -> encode -> decode is the identity;
// - what decodes obeys the limits the decoder promises (string lengths, enums in range,
//   manifest chunk lengths adding up to the size, inline bytes sealing exactly the size);
// - decoding allocates at most (r + 2) bytes per payload byte plus 4 KiB, where r is the
//   largest sizeof(item) / (smallest encoding of that item) over the lists the message holds:
//   a hostile count must not make the decoder reserve more than its input could hold.
#include "fuzz/fuzz_common.hpp"
#include "net/messages.hpp"

#include <algorithm>
#include <string>
#include <vector>

using namespace dfs;
using dfs::fuzz::alloc_meter;

namespace {

/// sizeof(Item) over the bytes one default-constructed item adds to a message's encoding.
template <class Msg, class Item>
double item_ratio(const Msg& with_one, const Msg& with_none) {
  auto one = to_payload(with_one).size();
  auto none = to_payload(with_none).size();
  FUZZ_CHECK(one > none);
  return static_cast<double>(sizeof(Item)) / static_cast<double>(one - none);
}

struct ratios {
  double ls_entry, member, chunk_id_item, manifest_item, chunk_ref_item, roster_item, user_item,
    string_item;
};

const ratios& item_ratios() {
  static const ratios r = [] {
    ratios x{};
    x.ls_entry = item_ratio<ls_result_msg, ls_entry>(ls_result_msg{{ls_entry{}}}, {});
    x.member = item_ratio<status_result_msg, member_status>(
      status_result_msg{"", {member_status{}}, 0, 0}, {});
    x.chunk_id_item = item_ratio<has_chunks_msg, chunk_id>(has_chunks_msg{{chunk_id{}}}, {});
    x.manifest_item =
      item_ratio<manifest_list_msg, manifest>(manifest_list_msg{{manifest{}}}, {});
    manifest one_chunk;
    one_chunk.chunks.push_back(chunk_ref{});
    x.chunk_ref_item = item_ratio<manifest_msg, chunk_ref>(manifest_msg{one_chunk}, {});
    x.roster_item = item_ratio<roster_msg, roster_entry>(roster_msg{{roster_entry{}}}, {});
    x.user_item = item_ratio<user_list_msg, user_record>(user_list_msg{{user_record{}}}, {});
    x.string_item = item_ratio<peers_msg, std::string>(peers_msg{{}, {std::string{}}}, {});
    return x;
  }();
  return r;
}

// -- what a decoded value must satisfy ------------------------------------------------------

void validate(const hello_msg& m) {
  FUZZ_CHECK(m.role == peer_role::peer || m.role == peer_role::client);
  FUZZ_CHECK(m.cluster.size() <= 256 && m.node_id.size() <= 64 && m.node_name.size() <= 256);
  FUZZ_CHECK(m.listen_address.size() <= 300);
}
void validate(const proof_msg&) {}
void validate(const error_msg& m) { FUZZ_CHECK(m.message.size() <= 4096); }
void validate(const key_msg& m) { FUZZ_CHECK(m.key.size() <= max_key_length); }
void validate(const prefix_msg& m) { FUZZ_CHECK(m.prefix.size() <= max_key_length); }
void validate(const put_begin_msg& m) { FUZZ_CHECK(m.key.size() <= max_key_length); }
void validate(const put_ready_msg&) {}
void validate(const credit_msg&) {}
void validate(const put_done_msg& m) { FUZZ_CHECK(m.version.size() <= 256); }
void validate(const get_meta_msg& m) { FUZZ_CHECK(m.version.size() <= 256); }
void validate(const rm_result_msg& m) { FUZZ_CHECK(m.version.size() <= 256); }
void validate(const ls_result_msg& m) {
  for (auto& e : m.entries)
    FUZZ_CHECK(e.key.size() <= max_key_length && e.version.size() <= 256);
}
void validate(const stat_result_msg& m) {
  FUZZ_CHECK(m.key.size() <= max_key_length && m.version.size() <= 256);
  FUZZ_CHECK(m.content_sha256.size() <= 64);
}
void validate(const status_result_msg& m) {
  FUZZ_CHECK(m.node.size() <= 256);
  for (auto& x : m.members)
    FUZZ_CHECK(x.name.size() <= 256 && x.node_id.size() <= 64 && x.address.size() <= 300
               && x.state.size() <= 32);
  for (auto& why : m.collection_waits)
    FUZZ_CHECK(why.size() <= 1024);
}
void validate(const has_chunks_msg&) {}
void validate(const has_chunks_result_msg&) {}
void validate(const manifest& m) {
  FUZZ_CHECK(m.key.size() <= max_key_length);
  FUZZ_CHECK(m.version.node_id.size() <= 64);
  FUZZ_CHECK(m.chunks.size() <= max_chunks_per_manifest);
  if (m.deleted) {
    FUZZ_CHECK(m.inline_data.empty());
  } else if (m.is_inline()) {
    // An inline file: its sealed bytes (or none, in a listing), never more than the limit.
    FUZZ_CHECK(m.size <= max_inline_size);
    FUZZ_CHECK(m.inline_data.empty() || m.inline_data.size() == m.size + chunk_cipher::overhead);
  } else {
    uint64_t total = 0;
    for (auto& c : m.chunks)
      total += c.length;
    FUZZ_CHECK(total == m.size);
    FUZZ_CHECK(m.inline_data.empty());
  }
}
void validate(const manifest_msg& m) { validate(m.value); }
void validate(const manifest_list_msg& m) {
  for (auto& x : m.values)
    validate(x);
}
void validate(const inventory_result_msg& m) {
  for (auto& x : m.manifests)
    validate(x);
}
void validate(const roster_msg& m) {
  for (auto& e : m.entries) {
    FUZZ_CHECK(e.node_id.size() <= 64 && e.name.size() <= 256 && e.address.size() <= 300);
    FUZZ_CHECK(static_cast<uint8_t>(e.admin) <= static_cast<uint8_t>(admin_state::left));
  }
}
void validate(const peers_msg& m) {
  validate(m.roster);
  for (auto& id : m.waiting_for)
    FUZZ_CHECK(id.size() <= 64);
}
void validate(const empty_msg&) {}
void validate(const user_record& r) {
  FUZZ_CHECK(r.name.size() <= max_user_name_length && r.access_key.size() <= access_key_length);
  FUZZ_CHECK(r.prefix.size() <= max_key_length);
}
void validate(const user_add_msg& m) {
  FUZZ_CHECK(m.name.size() <= max_user_name_length && m.prefix.size() <= max_key_length);
}
void validate(const user_name_msg& m) { FUZZ_CHECK(m.name.size() <= max_user_name_length); }
void validate(const user_record_msg& m) { validate(m.value); }
void validate(const user_list_msg& m) {
  for (auto& r : m.records)
    validate(r);
}

// -- the check every type goes through ------------------------------------------------------

template <class T>
void check(const char* data, size_t size, double ratio) {
  std::optional<T> msg;
  {
    alloc_meter meter;
    msg = from_payload<T>(data, size);
    auto allowed = static_cast<size_t>((ratio + 2.0) * static_cast<double>(size)) + 4096;
    if (alloc_meter::total > allowed) {
      std::fprintf(stderr, "decoding %zu bytes allocated %zu bytes (allowed %zu)\n", size,
                   alloc_meter::total, allowed);
      FUZZ_CHECK(alloc_meter::total <= allowed);
    }
  }
  if (!msg)
    return;
  validate(*msg);
  auto encoded = to_payload(*msg);
  FUZZ_CHECK(encoded.size() == size && std::equal(encoded.begin(), encoded.end(), data));
  auto again = from_payload<T>(encoded);
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(to_payload(*again) == encoded);
}

using decoder_fn = void (*)(const char*, size_t);

const decoder_fn decoders[] = {
  [](const char* d, size_t n) { check<hello_msg>(d, n, 0); },
  [](const char* d, size_t n) { check<proof_msg>(d, n, 0); },
  [](const char* d, size_t n) { check<error_msg>(d, n, 0); },
  [](const char* d, size_t n) { check<key_msg>(d, n, 0); },
  [](const char* d, size_t n) { check<prefix_msg>(d, n, 0); },
  [](const char* d, size_t n) { check<put_begin_msg>(d, n, 0); },
  [](const char* d, size_t n) { check<put_ready_msg>(d, n, 0); },
  [](const char* d, size_t n) { check<credit_msg>(d, n, 0); },
  [](const char* d, size_t n) { check<put_done_msg>(d, n, 0); },
  [](const char* d, size_t n) { check<get_meta_msg>(d, n, 0); },
  [](const char* d, size_t n) { check<ls_result_msg>(d, n, item_ratios().ls_entry); },
  [](const char* d, size_t n) { check<stat_result_msg>(d, n, 0); },
  [](const char* d, size_t n) {
    auto& r = item_ratios();
    check<status_result_msg>(d, n, std::max(r.member, r.string_item));
  },
  [](const char* d, size_t n) { check<has_chunks_msg>(d, n, item_ratios().chunk_id_item); },
  [](const char* d, size_t n) { check<has_chunks_result_msg>(d, n, 1); },
  [](const char* d, size_t n) { check<manifest_msg>(d, n, item_ratios().chunk_ref_item); },
  [](const char* d, size_t n) {
    auto& r = item_ratios();
    check<manifest_list_msg>(d, n, r.manifest_item + r.chunk_ref_item);
  },
  [](const char* d, size_t n) {
    auto& r = item_ratios();
    check<inventory_result_msg>(
      d, n, std::max(r.chunk_id_item, r.manifest_item + r.chunk_ref_item));
  },
  [](const char* d, size_t n) { check<roster_msg>(d, n, item_ratios().roster_item); },
  [](const char* d, size_t n) { check<empty_msg>(d, n, 0); },
  [](const char* d, size_t n) { check<user_add_msg>(d, n, 0); },
  [](const char* d, size_t n) { check<user_name_msg>(d, n, 0); },
  [](const char* d, size_t n) { check<user_record_msg>(d, n, 0); },
  [](const char* d, size_t n) { check<user_list_msg>(d, n, item_ratios().user_item); },
  [](const char* d, size_t n) {
    auto& r = item_ratios();
    check<peers_msg>(d, n, std::max(r.roster_item, r.string_item));
  },
  [](const char* d, size_t n) { check<rm_result_msg>(d, n, 0); },
};

constexpr size_t decoder_count = sizeof(decoders) / sizeof(decoders[0]);
static_assert(decoder_count == 26, "fuzz/make_seeds.cpp numbers the message types the same way");

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  alloc_meter::install();
  item_ratios();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1)
    return 0;
  decoders[data[0] % decoder_count](reinterpret_cast<const char*>(data + 1), size - 1);
  return 0;
}
