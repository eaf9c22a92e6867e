#include "common/secret_file.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace dfs {

namespace {

secret_file_contents refused(std::string problem) { return {std::nullopt, std::move(problem)}; }

std::string cannot_read(int err) { return std::string{"cannot read: "} + std::strerror(err); }

} // namespace

secret_file_contents read_secret_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return refused(cannot_read(errno));
  std::string data;
  char buf[4096];
  for (;;) {
    auto n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return refused(cannot_read(err));
    }
    if (n == 0)
      break;
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > max_secret_file_size) {
      ::close(fd);
      return refused("secret is larger than " + std::to_string(max_secret_file_size) + " bytes");
    }
  }
  ::close(fd);
  while (!data.empty() && (data.back() == '\n' || data.back() == '\r'))
    data.pop_back();
  if (data.size() < min_secret_size)
    return refused("secret is " + std::to_string(data.size()) + " bytes, at least "
                   + std::to_string(min_secret_size) + " are needed");
  return {std::move(data), {}};
}

} // namespace dfs
