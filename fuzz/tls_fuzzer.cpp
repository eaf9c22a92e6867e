// The TLS layer's input side (net/tls_endpoint.hpp): whatever a stranger sends as its first
// flight, the sniffing of plaintext peers (looks_like_tls) and the PSK identity parser.
//
// Input: [flags] [split seed] bytes...
//   flags bit 0   0: a server endpoint receives the bytes as a client's first flight (what a
//                 listener sees from anyone who connects); 1: a client endpoint sends its
//                 ClientHello and receives the bytes as the server's answer
//   flags bit 1   the server expects one particular client / the client names its target
//   flags bit 2   the connection ends (feed_eof) after the bytes
//   flags bit 3   plaintext is written before the handshake (it must stay queued)
//   split seed    how the bytes are cut into pieces for feed()
// The same bytes also go, as a string, to tls_psk_identity::parse and looks_like_tls.
//
// Invariants: without the cluster's secret (and the other side's ephemeral key) the handshake
// never completes, so no plaintext ever comes out and no identity is reported; a failed
// endpoint names its failure and refuses writes; an identity that parses prints back to the
// same string and names valid node ids; looks_like_tls never changes its mind from false to
// true as more bytes arrive.
#include "fuzz/fuzz_common.hpp"
#include "net/handshake.hpp"
#include "net/tls_endpoint.hpp"

#include <memory>
#include <string>
#include <string_view>

using namespace dfs;

namespace {

const std::string id_a = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const std::string id_b = "0123456789abcdef0123456789abcdef";
const std::string secret = "fuzzing secret, at least thirty-two bytes long";

tls_context& context() {
  static tls_context ctx{secret};
  return ctx;
}

void check_identity_parser(std::string_view s) {
  auto id = tls_psk_identity::parse(s);
  if (!id)
    return;
  FUZZ_CHECK(id->str() == s);
  FUZZ_CHECK(is_valid_node_id(id->sender));
  FUZZ_CHECK(id->target == tls_wildcard_target || is_valid_node_id(id->target));
}

void check_sniffer(const char* data, size_t size) {
  bool seen_false = false;
  for (size_t n = 0; n <= std::min<size_t>(size, 4); ++n) {
    bool tls = looks_like_tls(data, n);
    FUZZ_CHECK(!(seen_false && tls));
    seen_false = seen_false || !tls;
  }
}

void check_endpoint_state(tls_endpoint& ep) {
  FUZZ_CHECK(!ep.handshake_done());
  byte_buffer plain;
  FUZZ_CHECK(ep.read_plaintext(plain) == 0 && plain.empty());
  FUZZ_CHECK(ep.psk_identity().sender.empty() && ep.psk_identity().target.empty());
  FUZZ_CHECK(ep.key_exchange_group().empty());
  if (ep.failed()) {
    FUZZ_CHECK(ep.failure() != tls_failure::none);
    FUZZ_CHECK(ep.error().has_value() && !ep.error()->empty());
    FUZZ_CHECK(!ep.write_plaintext("x", 1));
  } else {
    FUZZ_CHECK(ep.failure() == tls_failure::none);
  }
  byte_buffer out;
  ep.take_ciphertext(out);
  FUZZ_CHECK(ep.pending_ciphertext() == 0);
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  dfs::fuzz::quiet_log();
  context();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* raw, size_t raw_size) {
  if (raw_size < 2)
    return 0;
  uint8_t flags = raw[0];
  uint8_t split_seed = raw[1];
  auto data = reinterpret_cast<const char*>(raw + 2);
  size_t size = raw_size - 2;

  check_identity_parser(std::string_view{data, size});
  check_sniffer(data, size);

  bool client = flags & 1;
  bool named = flags & 2;
  std::unique_ptr<tls_endpoint> ep;
  if (client)
    ep = std::make_unique<tls_endpoint>(context(), tls_side::client, id_a, named ? id_b : "");
  else
    ep = std::make_unique<tls_endpoint>(context(), tls_side::server, id_b, named ? id_a : "");
  ep->start();
  if (flags & 8) {
    FUZZ_CHECK(ep->write_plaintext("queued", 6));
    FUZZ_CHECK(ep->queued_plaintext() == 6);
  }
  // Records would go straight into a sink once the handshake is done; it never is here, so
  // everything (handshake messages, alerts) must stay inside.
  byte_buffer sink;
  if (flags & 32)
    ep->set_ciphertext_sink(&sink);
  byte_buffer hello;
  ep->take_ciphertext(hello);
  FUZZ_CHECK(client ? !hello.empty() : hello.empty());

  dfs::fuzz::piece_splitter cut{split_seed, 512};
  size_t pos = 0;
  while (pos < size) {
    size_t piece = cut.next(size - pos);
    if (flags & 16) { // the broker's path: records read straight from the caller's bytes
      byte_buffer plain;
      FUZZ_CHECK(ep->feed_and_read(data + pos, piece, plain) == 0 && plain.empty());
    } else {
      ep->feed(data + pos, piece);
    }
    pos += piece;
    check_endpoint_state(*ep);
    if (ep->failed())
      break;
  }
  if (flags & 4) {
    ep->feed_eof();
    FUZZ_CHECK(ep->failed());
    check_endpoint_state(*ep);
  }
  if ((flags & 8) && !ep->failed())
    FUZZ_CHECK(ep->queued_plaintext() == 6);
  ep->close();
  check_endpoint_state(*ep);
  FUZZ_CHECK(sink.empty());
  return 0;
}
