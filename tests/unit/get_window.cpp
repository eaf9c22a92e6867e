#define CAF_SUITE get_window
#include "tests/unit/test_helpers.hpp"

#include "actors/get_window.hpp"

#include <string>
#include <vector>

using namespace dfs;

namespace {

byte_buffer chunk(size_t i) {
  auto text = "chunk " + std::to_string(i);
  return byte_buffer(text.begin(), text.end());
}

/// Starts every fetch the window allows; their indexes.
std::vector<size_t> start_fetches(get_window& w) {
  std::vector<size_t> out;
  while (w.fetchable())
    out.push_back(w.begin_fetch());
  return out;
}

/// Sends every frame the window allows; their indexes (read back from the bytes).
std::vector<std::string> send_all(get_window& w) {
  std::vector<std::string> out;
  while (auto frame = w.sendable())
    out.emplace_back(frame->begin(), frame->end());
  return out;
}

} // namespace

CAF_TEST(fetches stop at the credit and at the prefetch limit) {
  get_window by_credit{10, 3, 8};
  CAF_CHECK_EQUAL(start_fetches(by_credit), (std::vector<size_t>{0, 1, 2}));
  get_window by_prefetch{10, 8, 2};
  CAF_CHECK_EQUAL(start_fetches(by_prefetch), (std::vector<size_t>{0, 1}));
  by_prefetch.fetched(0, chunk(0));
  CAF_CHECK_EQUAL(start_fetches(by_prefetch), (std::vector<size_t>{2}));
}

CAF_TEST(frames go out in order whatever order their chunks arrive in) {
  get_window w{4, 4, 4};
  CAF_CHECK_EQUAL(start_fetches(w).size(), 4u);
  w.fetched(2, chunk(2));
  w.fetched(1, chunk(1));
  CAF_CHECK(send_all(w).empty()); // chunk 0 is not there yet
  w.fetched(0, chunk(0));
  CAF_CHECK_EQUAL(send_all(w), (std::vector<std::string>{"chunk 0", "chunk 1", "chunk 2"}));
  CAF_CHECK(!w.all_sent());
  w.fetched(3, chunk(3));
  CAF_CHECK_EQUAL(send_all(w), (std::vector<std::string>{"chunk 3"}));
  CAF_CHECK(w.all_sent());
}

CAF_TEST(without credit nothing is sent or fetched and credit acknowledges the oldest frames) {
  get_window w{6, 2, 8};
  for (auto i : start_fetches(w))
    w.fetched(i, chunk(i));
  CAF_CHECK_EQUAL(send_all(w).size(), 2u);
  CAF_CHECK_EQUAL(w.credit_left(), 0u);
  CAF_CHECK(!w.fetchable()); // the client holds the window: nothing more is held here
  std::vector<size_t> acknowledged;
  w.credit(1, [&](size_t i) { acknowledged.push_back(i); });
  CAF_CHECK_EQUAL(acknowledged, (std::vector<size_t>{0}));
  CAF_CHECK_EQUAL(start_fetches(w), (std::vector<size_t>{2}));
  w.credit(1, [&](size_t i) { acknowledged.push_back(i); });
  CAF_CHECK_EQUAL(acknowledged, (std::vector<size_t>{0, 1}));
}

CAF_TEST(credit past the window is not the clients to give) {
  get_window w{100, 4, 100};
  std::vector<size_t> acknowledged;
  w.credit(1000, [&](size_t i) { acknowledged.push_back(i); });
  CAF_CHECK(acknowledged.empty()); // nothing was sent
  CAF_CHECK_EQUAL(w.credit_left(), 4u);
  CAF_CHECK_EQUAL(start_fetches(w).size(), 4u);
}

CAF_TEST(a failed fetch frees its place and sends nothing) {
  get_window w{3, 3, 1};
  CAF_CHECK_EQUAL(start_fetches(w), (std::vector<size_t>{0}));
  w.fetched(0, std::nullopt);
  CAF_CHECK_EQUAL(w.fetching(), 0u);
  CAF_CHECK(send_all(w).empty());
}

CAF_TEST(an inline file is one frame ready without a fetch) {
  get_window w{1, 4, 4};
  w.ready(0, chunk(0));
  CAF_CHECK(!w.fetchable());
  CAF_CHECK_EQUAL(send_all(w), (std::vector<std::string>{"chunk 0"}));
  CAF_CHECK(w.all_sent());
}
