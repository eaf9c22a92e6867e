#include "net/tls_endpoint.hpp"

#include "net/handshake.hpp" // is_valid_node_id
#include "common/credential.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <new>
#include <stdexcept>

namespace dfs {

namespace {

/// TLS_AES_128_GCM_SHA256, the one suite both sides allow, as its two wire bytes.
constexpr unsigned char suite_bytes[2] = {0x13, 0x01};
constexpr const char* suite_name = "TLS_AES_128_GCM_SHA256";
constexpr size_t psk_length = 32; // SHA-256's output: the suite's hash length
constexpr size_t max_record_plaintext = 16384;

/// The first error in OpenSSL's queue, as text, for messages that have nothing better.
std::string openssl_error_text(unsigned long e) {
  if (e == 0)
    return "unknown error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

[[noreturn]] void throw_openssl(const char* what) {
  std::string msg = std::string{"TLS setup failed: "} + what + ": "
                    + openssl_error_text(ERR_peek_last_error());
  ERR_clear_error();
  throw std::runtime_error(msg);
}

} // namespace

// -- identities ---------------------------------------------------------------------------------

std::string tls_psk_identity::str() const {
  return (access_key.empty() ? std::string{} : access_key + ":") + sender + ">" + target;
}

std::optional<tls_psk_identity> tls_psk_identity::parse(std::string_view s) {
  std::string access_key;
  if (auto colon = s.find(':'); colon != std::string_view::npos) {
    if (!is_valid_access_key(s.substr(0, colon)))
      return std::nullopt;
    access_key = std::string{s.substr(0, colon)};
    s.remove_prefix(colon + 1);
  }
  auto pos = s.find('>');
  if (pos == std::string_view::npos)
    return std::nullopt;
  tls_psk_identity id{std::string{s.substr(0, pos)}, std::string{s.substr(pos + 1)}, access_key};
  if (!is_valid_node_id(id.sender))
    return std::nullopt;
  if (id.target != tls_wildcard_target && !is_valid_node_id(id.target))
    return std::nullopt;
  return id;
}

const char* to_string(tls_failure f) {
  switch (f) {
    case tls_failure::none: return "none";
    case tls_failure::authentication: return "authentication";
    case tls_failure::not_tls: return "not_tls";
    case tls_failure::integrity: return "integrity";
    case tls_failure::truncated: return "truncated";
    case tls_failure::peer_alert: return "peer_alert";
    case tls_failure::protocol: return "protocol";
  }
  return "?";
}

bool looks_like_tls(const char* data, size_t n) {
  // Content types change_cipher_spec (20), alert (21), handshake (22), application data (23);
  // then the record version, whose major byte is 3 for every TLS version.
  if (n >= 1) {
    auto type = static_cast<unsigned char>(data[0]);
    if (type < 20 || type > 23)
      return false;
  }
  if (n >= 2 && static_cast<unsigned char>(data[1]) != 3)
    return false;
  return true;
}

// -- tls_context --------------------------------------------------------------------------------

struct tls_context::impl {
  SSL_CTX* client = nullptr;
  SSL_CTX* server = nullptr;
  EVP_KDF* kdf = nullptr;
  // HKDF-Extract(salt = label, ikm = the node secret, or a user's secret key).
  unsigned char prk[psk_length] = {};
  // With a user credential: its access key, which every identity we send carries.
  std::string access_key;
  // With the node secret: the root of every user's secret key (common/credential.hpp).
  std::string user_root;

  ~impl() {
    SSL_CTX_free(client);
    SSL_CTX_free(server);
    EVP_KDF_free(kdf);
    OPENSSL_cleanse(prk, sizeof prk);
    OPENSSL_cleanse(user_root.data(), user_root.size());
  }

  bool extract(std::string_view ikm, unsigned char* out) const {
    EVP_KDF_CTX* kctx = EVP_KDF_CTX_new(kdf);
    if (kctx == nullptr)
      return false;
    int mode = EVP_KDF_HKDF_MODE_EXTRACT_ONLY;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<char*>(ikm.data()),
                                        ikm.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                        const_cast<char*>(tls_psk_label.data()),
                                        tls_psk_label.size()),
      OSSL_PARAM_construct_end(),
    };
    bool ok = EVP_KDF_derive(kctx, out, psk_length, params) == 1;
    EVP_KDF_CTX_free(kctx);
    return ok;
  }

  /// The PSK of an identity: from our own key (the node secret, or our user credential), or,
  /// for a user's identity offered to a node, from that user's secret key derived here.
  bool psk_for(const tls_psk_identity& id, unsigned char* out) const {
    if (id.access_key.empty() || id.access_key == access_key)
      return expand(prk, id.str(), out);
    if (user_root.empty())
      return false;
    auto secret_key = user_secret_key(user_root, id.access_key);
    unsigned char user_prk[psk_length];
    bool ok = extract(secret_key, user_prk) && expand(user_prk, id.str(), out);
    OPENSSL_cleanse(user_prk, sizeof user_prk);
    OPENSSL_cleanse(secret_key.data(), secret_key.size());
    return ok;
  }

  bool expand(std::string_view info, unsigned char* out) const { return expand(prk, info, out); }

  bool expand(const unsigned char* key, std::string_view info, unsigned char* out) const {
    EVP_KDF_CTX* kctx = EVP_KDF_CTX_new(kdf);
    if (kctx == nullptr)
      return false;
    int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<unsigned char*>(key),
                                        psk_length),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()),
                                        info.size()),
      OSSL_PARAM_construct_end(),
    };
    bool ok = EVP_KDF_derive(kctx, out, psk_length, params) == 1;
    EVP_KDF_CTX_free(kctx);
    return ok;
  }
};

// -- tls_endpoint's state -----------------------------------------------------------------------

struct tls_endpoint::impl {
  const tls_context::impl* ctx;
  tls_side side;
  std::string local_id;
  std::string expected_peer;
  uint64_t key_update_interval;

  SSL* ssl = nullptr;
  BIO* bio = nullptr; // both directions ("the transport BIO" below): reads `in`, writes `out`

  tls_psk_identity identity;   // client: the one sent; server: the one accepted
  std::string identity_string; // client: the bytes libssl was pointed at
  bool psk_offered = false;    // server: the find callback ran
  bool psk_accepted = false;   // server: ... and accepted the identity
  std::string rejected;        // server: why the callback refused the identity

  bool started = false;
  bool done = false;
  bool failed = false;
  bool peer_closed = false;
  bool closed = false; // close() was called or close_notify answered: no more writes
  bool eof = false;
  size_t sniffed = 0; // how many of the peer's first bytes were checked by looks_like_tls
  char first_bytes[2] = {0, 0};

  tls_failure failure = tls_failure::none;
  std::string error;
  std::string group;

  // Socket bytes fed but not yet consumed by libssl (at most a partial record between calls,
  // unless read_plaintext() was bounded). Read from in_pos on; kept with its capacity.
  byte_buffer in;
  size_t in_pos = 0;
  // Bytes the caller lends for the length of one feed_lent(), read after `in`; what is
  // left of them is copied to `in` before the call returns.
  const char* lent = nullptr;
  size_t lent_size = 0;
  byte_buffer out;             // ciphertext waiting for take_ciphertext()
  byte_buffer* sink = nullptr; // where ciphertext goes once the handshake is done, if set
  byte_buffer queued;          // plaintext written before the handshake was done

  uint64_t records = 0;
  uint64_t records_since_update = 0;
  uint64_t key_updates = 0;

  ~impl() {
    SSL_free(ssl); // frees the BIO
  }

  // -- the transport BIO's two directions --

  size_t input_held() const { return in.size() - in_pos + lent_size; }

  size_t read_input(char* buf, size_t len) {
    if (in_pos == in.size()) {
      size_t n = std::min(len, lent_size);
      if (n == 0)
        return 0; // lent may be null: no memcpy from it
      std::memcpy(buf, lent, n);
      lent += n;
      lent_size -= n;
      return n;
    }
    size_t n = std::min(len, in.size() - in_pos);
    std::memcpy(buf, in.data() + in_pos, n);
    in_pos += n;
    if (in_pos == in.size()) {
      in.clear(); // keeps the capacity: the next feed copies without allocating
      in_pos = 0;
    }
    return n;
  }

  // Keeps what libssl did not read of the lent bytes (a partial record, or more after a
  // bounded read) for the next call.
  void keep_lent() {
    if (lent_size > 0)
      in.insert(in.end(), lent, lent + lent_size);
    lent = nullptr;
    lent_size = 0;
  }

  // The peer's first two bytes must look like a TLS record; a plaintext dfs peer sends a frame
  // header, and refusing it here gives a clearer message than libssl's. False when refused.
  bool sniff(const char* data, size_t n) {
    for (size_t i = 0; !done && sniffed < 2 && i < n; ++i) {
      first_bytes[sniffed++] = data[i];
      if (!looks_like_tls(first_bytes, sniffed)) {
        fail(tls_failure::not_tls, "the peer did not speak TLS: it sent plaintext (is tls "
                                   "off on the peer, or is it not a dfs node?)");
        return false;
      }
    }
    return true;
  }

  void write_output(const char* buf, size_t len) {
    // Records go straight to the sink (e.g. the connection's write buffer) once the handshake
    // is done. Before, everything waits in `out`, so that a connection refused in plaintext
    // can drop whatever libssl wrote (an alert would be noise to a plaintext peer).
    if (sink == nullptr || !done) {
      out.insert(out.end(), buf, buf + len);
      return;
    }
    if (!out.empty()) { // the last handshake message goes first
      sink->insert(sink->end(), out.begin(), out.end());
      out.clear();
    }
    sink->insert(sink->end(), buf, buf + len);
  }

  void fail(tls_failure kind, std::string why) {
    if (failed)
      return;
    failed = true;
    failure = kind;
    error = std::move(why);
    queued.clear();
    queued.shrink_to_fit();
  }

  // Names what went wrong after SSL_ERROR_SSL or SSL_ERROR_SYSCALL. Consumes the error queue.
  void classify(int ssl_error) {
    int reason = 0;
    unsigned long first_ssl = 0;
    unsigned long first_any = 0;
    for (unsigned long e; (e = ERR_get_error()) != 0;) {
      if (first_any == 0)
        first_any = e;
      if (first_ssl == 0 && ERR_GET_LIB(e) == ERR_LIB_SSL) {
        first_ssl = e;
        reason = ERR_GET_REASON(e);
      }
    }
    std::string detail = openssl_error_text(first_ssl != 0 ? first_ssl : first_any);
    const char* shake = done ? "" : " during the TLS handshake";
    if (!rejected.empty())
      return fail(tls_failure::authentication, "authentication failed: " + rejected);
    if (reason == SSL_R_BINDER_DOES_NOT_VERIFY)
      return fail(tls_failure::authentication,
                  "authentication failed: the peer does not hold this cluster's secret "
                  "(its TLS pre-shared key binder does not verify)");
    if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED)
      return fail(tls_failure::authentication,
                  "authentication failed: the peer does not hold this cluster's secret "
                  "(it answered with a certificate instead of the pre-shared key)");
    if (reason > SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256) {
      int alert = reason - SSL_AD_REASON_OFFSET;
      std::string desc = SSL_alert_desc_string_long(alert);
      if (!done
          && (alert == SSL_AD_ILLEGAL_PARAMETER || alert == SSL_AD_DECRYPT_ERROR
              || alert == SSL_AD_UNKNOWN_PSK_IDENTITY || alert == SSL_AD_HANDSHAKE_FAILURE
              || alert == SSL_AD_ACCESS_DENIED))
        return fail(tls_failure::authentication,
                    "authentication failed: the peer does not hold this cluster's secret or "
                    "does not accept our identity (TLS alert \"" + desc + "\")");
      if (alert == SSL_AD_BAD_RECORD_MAC)
        return fail(tls_failure::integrity, "the peer received a TLS record that did not "
                                            "authenticate: bytes were altered in transit");
      return fail(tls_failure::peer_alert,
                  std::string{"the peer aborted the TLS session"} + shake + " (TLS alert \""
                    + desc + "\")");
    }
    if (reason == SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC)
      return fail(tls_failure::integrity,
                  std::string{"a TLS record did not authenticate"} + shake
                    + ": bytes were altered in transit (bad record MAC); connection closed");
    if (reason == SSL_R_UNEXPECTED_EOF_WHILE_READING || (ssl_error == SSL_ERROR_SYSCALL && eof))
      return fail(tls_failure::truncated,
                  std::string{"the peer closed the connection"} + shake
                    + " without a TLS close_notify (the data may have been truncated)");
    if (!done
        && (reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG
            || reason == SSL_R_HTTP_REQUEST || reason == SSL_R_HTTPS_PROXY_REQUEST
            || reason == SSL_R_UNKNOWN_PROTOCOL
            || reason == SSL_R_UNEXPECTED_MESSAGE || reason == SSL_R_UNEXPECTED_RECORD))
      return fail(tls_failure::not_tls,
                  "the peer did not speak TLS (" + detail + "); is tls off on the peer?");
    if (side == tls_side::server && !done && !psk_offered)
      return fail(tls_failure::authentication,
                  "authentication failed: the peer did not offer this cluster's pre-shared "
                  "key (" + detail + ")");
    fail(tls_failure::protocol, std::string{"TLS error"} + shake + ": " + detail);
  }

  // Handles the result of an SSL call that returned ret <= 0. True when the caller may go on
  // (the call only wants more input).
  bool handle(int ret) {
    int e = SSL_get_error(ssl, ret);
    switch (e) {
      case SSL_ERROR_WANT_READ:
      case SSL_ERROR_WANT_WRITE:
        ERR_clear_error();
        return true;
      case SSL_ERROR_ZERO_RETURN:
        // close_notify from the peer: answer with ours (allowed, unlike after an error).
        peer_closed = true;
        if (!closed) {
          closed = true;
          ERR_clear_error();
          SSL_shutdown(ssl);
        }
        ERR_clear_error();
        return false;
      default:
        // SSL_ERROR_SSL, SSL_ERROR_SYSCALL and anything unexpected: libssl has queued any alert
        // in `out` (or the sink) already; the caller sends it. Never SSL_shutdown after these.
        classify(e);
        ERR_clear_error();
        return false;
    }
  }

  void drive_handshake() {
    if (done || failed)
      return;
    ERR_clear_error();
    int ret = SSL_do_handshake(ssl);
    if (ret == 1)
      check_handshake();
    else
      handle(ret);
  }

  // The handshake completed as far as libssl is concerned; now ours. Session details are
  // queried only here, i.e. after a successful handshake.
  void check_handshake() {
    if (SSL_version(ssl) != TLS1_3_VERSION)
      return fail(tls_failure::protocol, "the TLS handshake did not negotiate TLS 1.3");
    if (SSL_session_reused(ssl) != 1)
      return fail(tls_failure::authentication,
                  "authentication failed: the peer does not hold this cluster's secret "
                  "(the handshake completed without the pre-shared key)");
    if (side == tls_side::server && !psk_accepted)
      return fail(tls_failure::authentication,
                  "authentication failed: the peer presented no acceptable identity");
    const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
    if (cipher == nullptr || std::string_view{SSL_CIPHER_get_name(cipher)} != suite_name)
      return fail(tls_failure::protocol, "the TLS handshake negotiated an unexpected cipher");
    EVP_PKEY* tmp = nullptr;
    if (SSL_get_peer_tmp_key(ssl, &tmp) != 1 || tmp == nullptr) {
      ERR_clear_error();
      return fail(tls_failure::protocol, "the TLS handshake used no ephemeral (EC)DHE key "
                                         "exchange; forward secrecy is required");
    }
    const char* name = EVP_PKEY_get0_type_name(tmp);
    group = name != nullptr ? name : "unknown";
    EVP_PKEY_free(tmp);
    done = true;
    if (!queued.empty()) {
      byte_buffer q;
      q.swap(queued);
      write(q.data(), q.size());
    }
  }

  bool write(const char* data, size_t n) {
    while (n > 0) {
      size_t piece = std::min(n, tls_write_piece);
      size_t written = 0;
      ERR_clear_error();
      int ret = SSL_write_ex(ssl, data, piece, &written);
      if (ret != 1) {
        handle(ret);
        return false;
      }
      uint64_t recs = (written + max_record_plaintext - 1) / max_record_plaintext;
      records += recs;
      records_since_update += recs;
      data += written;
      n -= written;
      if (records_since_update >= key_update_interval && !update_keys())
        return false;
    }
    return true;
  }

  bool update_keys() {
    ERR_clear_error();
    if (SSL_key_update(ssl, SSL_KEY_UPDATE_NOT_REQUESTED) != 1) {
      fail(tls_failure::protocol,
           "TLS key update failed: " + openssl_error_text(ERR_peek_last_error()));
      ERR_clear_error();
      return false;
    }
    ERR_clear_error();
    int ret = SSL_do_handshake(ssl); // sends the KeyUpdate message now
    if (ret != 1) {
      handle(ret);
      return !failed;
    }
    ++key_updates;
    records_since_update = 0;
    return true;
  }

  // -- callbacks (libssl calls them from inside SSL_do_handshake) --

  SSL_SESSION* make_session(const tls_psk_identity& id) {
    const SSL_CIPHER* cipher = SSL_CIPHER_find(ssl, suite_bytes);
    if (cipher == nullptr)
      return nullptr;
    unsigned char key[psk_length];
    if (!ctx->psk_for(id, key))
      return nullptr;
    SSL_SESSION* sess = SSL_SESSION_new();
    bool ok = sess != nullptr && SSL_SESSION_set1_master_key(sess, key, sizeof key) == 1
              && SSL_SESSION_set_cipher(sess, cipher) == 1
              && SSL_SESSION_set_protocol_version(sess, TLS1_3_VERSION) == 1;
    OPENSSL_cleanse(key, sizeof key);
    if (!ok) {
      SSL_SESSION_free(sess);
      return nullptr;
    }
    return sess;
  }

  static int use_session(SSL* ssl, const EVP_MD* md, const unsigned char** id, size_t* idlen,
                         SSL_SESSION** sess) {
    auto* self = static_cast<impl*>(SSL_get_app_data(ssl));
    *sess = nullptr;
    *id = nullptr;
    *idlen = 0;
    if (self == nullptr)
      return 0;
    // After a HelloRetryRequest libssl asks again with the suite's digest: only SHA-256 fits.
    if (md != nullptr && EVP_MD_get_type(md) != NID_sha256)
      return 1;
    SSL_SESSION* s = self->make_session(self->identity);
    if (s == nullptr)
      return 0;
    *sess = s; // libssl owns it from here
    *id = reinterpret_cast<const unsigned char*>(self->identity_string.data());
    *idlen = self->identity_string.size();
    return 1;
  }

  static int find_session(SSL* ssl, const unsigned char* id, size_t idlen, SSL_SESSION** sess) {
    auto* self = static_cast<impl*>(SSL_get_app_data(ssl));
    *sess = nullptr;
    if (self == nullptr)
      return 0;
    self->psk_offered = true;
    std::string_view presented{reinterpret_cast<const char*>(id), idlen};
    auto parsed = tls_psk_identity::parse(presented);
    // A refused identity is "no such PSK" (1 with no session): the server then has no way to
    // authenticate (it holds no certificate), fails, and sends handshake_failure, which the
    // client reports as an authentication failure. (Returning 0 would abort with
    // internal_error.) check_handshake() insists on psk_accepted as well. The reason stays in
    // `rejected` for error().
    if (!parsed) {
      self->rejected = "the peer's TLS identity is malformed";
      return 1;
    }
    if (parsed->sender == self->local_id) {
      self->rejected = "the TLS identity names this node as the sender (a connection to "
                       "itself, or one reflected back to it)";
      return 1;
    }
    if (parsed->target != self->local_id && parsed->target != tls_wildcard_target) {
      self->rejected = "the peer's TLS identity is aimed at another node (" + parsed->target
                       + ")";
      return 1;
    }
    if (!self->expected_peer.empty() && parsed->sender != self->expected_peer) {
      self->rejected = "the peer's TLS identity names " + parsed->sender + ", not the expected "
                       + self->expected_peer;
      return 1;
    }
    if (!parsed->access_key.empty() && self->ctx->user_root.empty()) {
      self->rejected = "the peer uses a user credential, and this end holds no node secret to "
                       "check it with";
      return 1;
    }
    if (parsed->access_key.empty() && !self->ctx->access_key.empty()) {
      self->rejected = "this end holds a user credential: it accepts no connections";
      return 1;
    }
    SSL_SESSION* s = self->make_session(*parsed);
    if (s == nullptr)
      return 0;
    self->identity = std::move(*parsed);
    self->psk_accepted = true;
    *sess = s; // libssl owns it from here
    return 1;
  }
};

// -- the transport BIO --------------------------------------------------------------------------

namespace {

// libssl reads records from the endpoint's input buffer and writes records straight into its
// output (or the caller's sink) through this BIO. Memory BIOs would cost a copy in each
// direction and grow their buffers by reallocating and cleansing, a large share of the TLS
// work on a large get or put (docs/PERFORMANCE.md, "What TLS costs").
using endpoint_impl = tls_endpoint::impl;

endpoint_impl* owner(BIO* b) { return static_cast<endpoint_impl*>(BIO_get_data(b)); }

int transport_read(BIO* b, char* buf, size_t len, size_t* readbytes) {
  BIO_clear_retry_flags(b);
  *readbytes = owner(b)->read_input(buf, len);
  if (*readbytes > 0)
    return 1;
  if (!owner(b)->eof)
    BIO_set_retry_read(b); // no data yet: libssl reports SSL_ERROR_WANT_READ
  return 0;
}

int transport_write(BIO* b, const char* buf, size_t len, size_t* written) {
  BIO_clear_retry_flags(b);
  // No exception may unwind through libssl: out of memory fails the endpoint instead.
  try {
    owner(b)->write_output(buf, len);
  } catch (const std::bad_alloc&) {
    owner(b)->fail(tls_failure::protocol, "TLS error: out of memory buffering records to send");
    *written = 0;
    return 0;
  }
  *written = len;
  return 1;
}

long transport_ctrl(BIO* b, int cmd, long, void*) {
  switch (cmd) {
    case BIO_CTRL_FLUSH: return 1; // written is sent: nothing is held here
    case BIO_CTRL_PENDING: return static_cast<long>(owner(b)->input_held());
    case BIO_CTRL_WPENDING: return 0;
    case BIO_CTRL_EOF: return owner(b)->eof && owner(b)->input_held() == 0;
    default: return 0; // not supported (kTLS, dgram, ...): libssl then does without
  }
}

const BIO_METHOD* transport_method() {
  // Made once per process and never freed (a function-local static is thread-safe to build).
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "dfs transport");
    if (m == nullptr || BIO_meth_set_read_ex(m, transport_read) != 1
        || BIO_meth_set_write_ex(m, transport_write) != 1
        || BIO_meth_set_ctrl(m, transport_ctrl) != 1)
      throw_openssl("BIO_meth_new");
    return m;
  }();
  return method;
}

} // namespace

// -- tls_context --------------------------------------------------------------------------------

namespace {

SSL_CTX* make_ctx(bool server) {
  SSL_CTX* c = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (c == nullptr)
    throw_openssl("SSL_CTX_new");
  auto check = [c](bool ok, const char* what) {
    if (!ok) {
      SSL_CTX_free(c);
      throw_openssl(what);
    }
  };
  check(SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION) == 1, "min protocol version");
  check(SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION) == 1, "max protocol version");
  // Exactly the PSK's suite: with a choice the server may pick another one, ignore the PSK
  // and fall back to certificates.
  check(SSL_CTX_set_ciphersuites(c, suite_name) == 1, "ciphersuites");
  // psk_dhe_ke over X25519 only; SSL_OP_ALLOW_NO_DHE_KEX stays unset.
  check(SSL_CTX_set1_groups_list(c, "X25519") == 1, "groups");
  SSL_CTX_clear_options(c, SSL_OP_ALLOW_NO_DHE_KEX);
  SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
  check(SSL_CTX_set_num_tickets(c, 0) == 1, "num_tickets"); // NO_TICKET alone still sends one
  check(SSL_CTX_set_max_early_data(c, 0) == 1, "max_early_data");
  check(SSL_CTX_set_recv_max_early_data(c, 0) == 1, "recv_max_early_data");
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
  if (server) {
    // A PSK handshake counts as resumption, which needs a session id context on the server
    // (and breaks the client if set there).
    static const unsigned char sid_ctx[] = "dfs";
    check(SSL_CTX_set_session_id_context(c, sid_ctx, sizeof sid_ctx - 1) == 1,
          "session id context");
    SSL_CTX_set_psk_find_session_callback(c, &tls_endpoint::impl::find_session);
  } else {
    // No trust anchors: any certificate fails verification; the PSK is the only way in.
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_psk_use_session_callback(c, &tls_endpoint::impl::use_session);
  }
  return c;
}

} // namespace

tls_context::tls_context(const std::string& cluster_secret) : impl_(std::make_unique<impl>()) {
  if (cluster_secret.empty())
    throw std::invalid_argument("TLS setup failed: the cluster secret is empty");
  ERR_clear_error();
  impl_->kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  if (impl_->kdf == nullptr)
    throw_openssl("EVP_KDF_fetch(HKDF)");
  std::string_view ikm = cluster_secret;
  std::optional<user_credential> user;
  if (looks_like_credential(cluster_secret)) {
    std::string why;
    user = parse_credential(cluster_secret, why);
    if (!user)
      throw std::invalid_argument("TLS setup failed: " + why);
    ikm = user->secret_key;
    impl_->access_key = user->access_key;
  } else {
    impl_->user_root = user_key_root(cluster_secret);
  }
  bool ok = impl_->extract(ikm, impl_->prk);
  if (user)
    OPENSSL_cleanse(user->secret_key.data(), user->secret_key.size());
  if (!ok)
    throw_openssl("HKDF-Extract");
  impl_->client = make_ctx(false);
  impl_->server = make_ctx(true);
}

tls_context::~tls_context() = default;

std::string tls_context::derive_psk(std::string_view identity) const {
  unsigned char key[psk_length];
  if (!impl_->expand(identity, key))
    throw_openssl("HKDF-Expand");
  std::string result(reinterpret_cast<const char*>(key), sizeof key);
  OPENSSL_cleanse(key, sizeof key);
  return result;
}

// -- tls_endpoint -------------------------------------------------------------------------------

tls_endpoint::tls_endpoint(const tls_context& ctx, tls_side side, std::string local_id,
                           std::string expected_peer_id, uint64_t key_update_interval)
  : impl_(std::make_unique<impl>()) {
  if (!is_valid_node_id(local_id))
    throw std::invalid_argument("tls_endpoint: malformed local node id");
  if (!expected_peer_id.empty() && !is_valid_node_id(expected_peer_id))
    throw std::invalid_argument("tls_endpoint: malformed peer node id");
  auto& d = *impl_;
  d.ctx = ctx.impl_.get();
  d.side = side;
  d.local_id = std::move(local_id);
  d.expected_peer = std::move(expected_peer_id);
  d.key_update_interval = key_update_interval == 0 ? tls_default_key_update_interval
                                                   : key_update_interval;
  if (side == tls_side::client) {
    d.identity.access_key = d.ctx->access_key;
    d.identity.sender = d.local_id;
    d.identity.target = d.expected_peer.empty() ? std::string{tls_wildcard_target}
                                                : d.expected_peer;
    d.identity_string = d.identity.str();
  }
  ERR_clear_error();
  d.ssl = SSL_new(side == tls_side::client ? d.ctx->client : d.ctx->server);
  d.bio = BIO_new(transport_method());
  if (d.ssl == nullptr || d.bio == nullptr) {
    BIO_free(d.bio);
    d.bio = nullptr;
    throw_openssl("SSL_new");
  }
  BIO_set_data(d.bio, &d);
  BIO_set_init(d.bio, 1);
  // The same BIO both ways: SSL_set_bio takes the one reference, SSL_free frees it.
  SSL_set_bio(d.ssl, d.bio, d.bio);
  SSL_set_app_data(d.ssl, &d);
  if (side == tls_side::client)
    SSL_set_connect_state(d.ssl);
  else
    SSL_set_accept_state(d.ssl);
}

tls_endpoint::~tls_endpoint() = default;
tls_endpoint::tls_endpoint(tls_endpoint&&) noexcept = default;
tls_endpoint& tls_endpoint::operator=(tls_endpoint&&) noexcept = default;

void tls_endpoint::start() {
  auto& d = *impl_;
  if (d.started)
    return;
  d.started = true;
  if (d.side == tls_side::client)
    d.drive_handshake();
}

void tls_endpoint::feed(const char* data, size_t n) {
  // The handshake reads what it needs straight from data; the rest is kept inside.
  feed_lent(data, n, [] {});
}

void tls_endpoint::feed_lent(const char* data, size_t n, const std::function<void()>& consume) {
  auto& d = *impl_;
  // However this call ends (consume may throw), no pointer to the lent bytes survives it.
  struct keep_on_exit {
    impl& d;
    ~keep_on_exit() { d.keep_lent(); }
  } keep{d};
  if (!d.failed && !d.eof && n > 0 && d.sniff(data, n)) {
    d.lent = data;
    d.lent_size = n;
    d.started = true;
    d.drive_handshake();
  }
  consume();
}

size_t tls_endpoint::feed_and_read(const char* data, size_t n, byte_buffer& out) {
  size_t got = 0;
  feed_lent(data, n, [&] { got = read_plaintext(out); });
  return got;
}

void tls_endpoint::feed_eof() {
  auto& d = *impl_;
  if (d.eof)
    return;
  d.eof = true; // the transport BIO reports end of file once `in` is empty
  if (!d.done && !d.failed)
    d.fail(tls_failure::truncated,
           "the peer closed the connection during the TLS handshake");
}

size_t tls_endpoint::read_into(char* dst, size_t n) {
  auto& d = *impl_;
  if (!d.done || d.failed || d.peer_closed || n == 0)
    return 0;
  size_t got = 0;
  ERR_clear_error();
  int ret = SSL_read_ex(d.ssl, dst, n, &got);
  if (ret == 1)
    return got;
  d.handle(ret);
  return 0;
}

size_t tls_endpoint::read_plaintext(byte_buffer& out, size_t max_bytes) {
  auto& d = *impl_;
  if (!d.done || d.failed || d.peer_closed)
    return 0;
  // The plaintext is no longer than the ciphertext held: one reservation, not a doubling
  // per record (libssl may also hold a record it read already: one more record's room).
  reserve_growing(out, out.size() + std::min(d.input_held(), max_bytes) + max_record_plaintext);
  size_t appended = 0;
  while (appended < max_bytes) {
    size_t old = out.size();
    out.resize(old + max_record_plaintext);
    size_t got = read_into(out.data() + old, max_record_plaintext);
    out.resize(old + got);
    if (got == 0)
      break;
    appended += got;
  }
  return appended;
}

bool tls_endpoint::write_plaintext(const char* data, size_t n) {
  auto& d = *impl_;
  if (d.failed || d.closed)
    return false;
  if (n == 0)
    return true;
  if (!d.done) {
    d.queued.insert(d.queued.end(), data, data + n);
    return true;
  }
  return d.write(data, n);
}

void tls_endpoint::take_ciphertext(byte_buffer& out) {
  auto& d = *impl_;
  if (out.empty()) {
    out.swap(d.out);
  } else {
    out.insert(out.end(), d.out.begin(), d.out.end());
  }
  d.out.clear();
}

void tls_endpoint::set_ciphertext_sink(byte_buffer* sink) {
  impl_->sink = sink;
}

size_t tls_endpoint::pending_ciphertext() const {
  return impl_->out.size();
}

size_t tls_endpoint::queued_plaintext() const {
  return impl_->queued.size();
}

void tls_endpoint::close() {
  auto& d = *impl_;
  if (d.closed)
    return;
  d.closed = true;
  d.queued.clear();
  if (d.done && !d.failed && !d.peer_closed) {
    ERR_clear_error();
    SSL_shutdown(d.ssl); // sends close_notify; 0 means "the peer's not seen yet", fine
    ERR_clear_error();
  }
}

bool tls_endpoint::handshake_done() const {
  return impl_->done && !impl_->failed;
}

bool tls_endpoint::failed() const {
  return impl_->failed;
}

bool tls_endpoint::peer_closed() const {
  return impl_->peer_closed;
}

std::optional<std::string> tls_endpoint::error() const {
  if (!impl_->failed)
    return std::nullopt;
  return impl_->error;
}

tls_failure tls_endpoint::failure() const {
  return impl_->failure;
}

tls_side tls_endpoint::side() const {
  return impl_->side;
}

const tls_psk_identity& tls_endpoint::psk_identity() const {
  static const tls_psk_identity none;
  return handshake_done() ? impl_->identity : none;
}

const std::string& tls_endpoint::key_exchange_group() const {
  return impl_->group;
}

uint64_t tls_endpoint::records_written() const {
  return impl_->records;
}

uint64_t tls_endpoint::key_updates_sent() const {
  return impl_->key_updates;
}

} // namespace dfs
