#pragma once
// TLS 1.3 under the frames, keyed by the cluster secret alone (no certificates). This file is
// the reusable building block: it owns no socket. Whoever owns the bytes (the peer-connection
// broker on a node, the blocking client connection in the CLI) feeds it what the socket read
// and sends what it hands back.
//
// Keys. Every connection authenticates with an external TLS 1.3 PSK:
//
//   identity = "<sender node id>><target node id>"       (the connecting side is the sender)
//   key      = HKDF-SHA256(ikm = cluster secret, salt = "dfs tls psk v1", info = identity), 32 B
//
// so a key is bound to who sends and to whom. A sender that does not know its target's node id
// (a CLI, or a node dialing a seed by address) uses the target "*"; the accepting side takes
// that as well, since the key still requires the secret, and reports it (wildcard_target()) so
// the broker can insist on the hello it expects. The accepting side refuses an identity that is
// malformed, aimed at another node, or coming from itself (a connection reflected back to its
// own listener). With one group secret any member can pose as another; per-node keys are a
// later step. A client with a user credential prefixes the identity with its access key and
// keys it with its own secret key (see tls_context below).
//
// Settings (each was seen to matter with OpenSSL 3.0): TLS 1.3 only; exactly one ciphersuite,
// TLS_AES_128_GCM_SHA256, the PSK's; psk_dhe_ke only (SSL_OP_ALLOW_NO_DHE_KEX unset, group
// X25519) and an ephemeral share checked after the handshake, so recorded traffic stays safe if
// the secret leaks later; no tickets, no early data; the connecting side sets SSL_VERIFY_PEER
// with no trust anchors and requires SSL_session_reused() == 1, so a server that answers with
// any certificate instead of the PSK is refused; a key update every 2^23 records written.
//
// Threading: a tls_context is immutable after construction and may be shared by every thread.
// A tls_endpoint belongs to one connection and is used by one thread at a time.
#include "common/codec.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace dfs {

/// Which end of the TCP connection: the one that connected (TLS client) or accepted (server).
enum class tls_side { client, server };

/// Why an endpoint failed; error() has the sentence.
enum class tls_failure {
  none,
  authentication, // wrong secret, a certificate instead of the PSK, a refused identity
  not_tls,        // the peer sent something that is not TLS (a plaintext dfs node or client)
  integrity,      // a record did not authenticate: bytes altered in transit
  truncated,      // the connection ended without close_notify, or during the handshake
  peer_alert,     // the peer aborted with an alert (other than one naming authentication)
  protocol,       // any other TLS error, or a handshake that did not pass our checks
};

const char* to_string(tls_failure f);

/// The PSK identity of one connection: who sends (connects) and to whom, and, for a client
/// with a user credential, with whose key.
struct tls_psk_identity {
  std::string sender;
  std::string target;     // a node id, or "*" when the sender did not know it
  std::string access_key; // a user credential's access key; empty with the node secret
  /// "<sender>><target>", or "<access key>:<sender>><target>" for a user.
  std::string str() const;
  /// Parses either form; nullopt when malformed.
  static std::optional<tls_psk_identity> parse(std::string_view s);
};

/// The target a sender uses when it does not know its peer's node id.
inline constexpr std::string_view tls_wildcard_target = "*";
/// The HKDF salt (a label of this scheme's own); changing it changes every key.
inline constexpr std::string_view tls_psk_label = "dfs tls psk v1";
/// Records written between two key updates by default (AES-GCM allows ~2^24.5 per key).
inline constexpr uint64_t tls_default_key_update_interval = uint64_t{1} << 23;
/// The largest piece handed to one SSL_write (four full records).
inline constexpr size_t tls_write_piece = 64 * 1024;

/// At most how many bytes of records n bytes of application data become (each record of up
/// to 16 KiB adds a 5-byte header, the content type and a 16-byte tag).
constexpr size_t tls_ciphertext_bound(size_t n) { return n + (n / 16384 + 1) * 22; }

/// True when the bytes so far could start a TLS record (a handshake, alert or application
/// record of version 3.x). Lets a plaintext decoder recognise a TLS peer and say so; needs at
/// least 2 bytes to say false.
bool looks_like_tls(const char* data, size_t n);

/// The per-process TLS configuration: a client and a server SSL_CTX built from the cluster
/// secret, or from a user credential file's contents (common/credential.hpp). Build it once at
/// start (the constructor throws std::runtime_error or std::invalid_argument on failure) and
/// share it read-only, e.g. as a shared_ptr<const>. The raw secret is not kept: only the HKDF
/// pseudo-random key extracted from it (and, from the node secret, the root of the users'
/// secret keys).
///
/// Users. A client with a user credential sends the identity "<access key>:<sender>><target>"
/// keyed by HKDF(ikm = its secret key, salt = "dfs tls psk v1", info = identity). A node
/// derives that user's secret key from the node secret, so it needs no lookup to finish the
/// handshake; whether the user still exists is for the caller to check afterwards
/// (tls_endpoint::user_access_key()). A context made from a credential accepts nothing as a
/// server; a node-secret identity is never accepted by it.
class tls_context {
public:
  explicit tls_context(const std::string& cluster_secret);
  ~tls_context();
  tls_context(const tls_context&) = delete;
  tls_context& operator=(const tls_context&) = delete;

  /// The 32-byte PSK for one identity string (exposed for tests and tools).
  std::string derive_psk(std::string_view identity) const;

  struct impl; // opaque: the SSL_CTXs and the extracted key

private:
  friend class tls_endpoint;
  std::unique_ptr<impl> impl_;
};

/// One TLS connection over buffers (no socket); its tls_context must outlive it. Driving it:
///   client: start(); then loop { feed(socket bytes); read_plaintext(); take_ciphertext() }
///   server: the same loop, start() does nothing but may be called.
/// After every call that may produce output (start, feed, read_plaintext, write_plaintext,
/// close), send what take_ciphertext() returns. Plaintext written before handshake_done() is
/// queued inside and sent once the handshake has passed its checks.
class tls_endpoint {
public:
  /// local_id: this node's (or this client's) node id, 32 lowercase hex digits.
  /// expected_peer_id: client side, the target's node id if known ("" means "*"); server side,
  /// if not empty, only this sender is accepted. key_update_interval: records written between
  /// key updates (a test hook; 0 is taken as the default).
  tls_endpoint(const tls_context& ctx, tls_side side, std::string local_id,
               std::string expected_peer_id = {},
               uint64_t key_update_interval = tls_default_key_update_interval);
  ~tls_endpoint();
  tls_endpoint(tls_endpoint&&) noexcept;
  tls_endpoint& operator=(tls_endpoint&&) noexcept;
  tls_endpoint(const tls_endpoint&) = delete;
  tls_endpoint& operator=(const tls_endpoint&) = delete;

  /// Client: produces the ClientHello (take_ciphertext). Server: nothing. Call once.
  void start();

  /// Bytes read from the socket. Advances the handshake; application data stays inside until
  /// read_plaintext().
  void feed(const char* data, size_t n);
  void feed(const byte_buffer& b) { feed(b.data(), b.size()); }

  /// The socket reached end of file. During the handshake this fails the endpoint; afterwards,
  /// the next read_plaintext() delivers what is left and then ends in peer_closed() (the peer
  /// sent close_notify) or a truncation error.
  void feed_eof();

  /// feed() without the copy: lends data to the endpoint for the length of the call, then
  /// calls consume(), which reads the plaintext (read_into() or read_plaintext()) while libssl
  /// reads the records straight from data. Only what is left of data (a partial record) is
  /// copied inside. The fast path for a connection that decrypts whatever arrives.
  void feed_lent(const char* data, size_t n, const std::function<void()>& consume);
  /// feed_lent() with consume = read_plaintext(out); returns what that returned.
  size_t feed_and_read(const char* data, size_t n, byte_buffer& out);
  size_t feed_and_read(const byte_buffer& b, byte_buffer& out) {
    return feed_and_read(b.data(), b.size(), out);
  }

  /// Appends decrypted application data to out (at most about max_bytes + 16 KiB) and returns
  /// how many bytes it appended. Nothing before handshake_done(). Call after every feed().
  size_t read_plaintext(byte_buffer& out, size_t max_bytes = SIZE_MAX);

  /// Writes at most n bytes of decrypted application data to dst and returns how many; 0 when
  /// none is ready (or after a failure or the peer's close_notify). Call until it returns 0.
  size_t read_into(char* dst, size_t n);

  /// Encrypts application data (queued until the handshake is done). False once failed or
  /// closed; then nothing is sent.
  bool write_plaintext(const char* data, size_t n);
  bool write_plaintext(const byte_buffer& b) { return write_plaintext(b.data(), b.size()); }

  /// Moves every ciphertext byte waiting to be sent to the end of out (handshake messages,
  /// records, key updates, alerts, close_notify).
  void take_ciphertext(byte_buffer& out);
  /// Once the handshake is done, appends ciphertext straight to *sink (say, the connection's
  /// write buffer) as it is made, instead of keeping it for take_ciphertext(): one copy less
  /// per record. Handshake messages still wait inside. nullptr (the default) keeps everything
  /// inside; set it back to nullptr before the sink goes away.
  void set_ciphertext_sink(byte_buffer* sink);
  size_t pending_ciphertext() const;
  /// Plaintext queued by write_plaintext() before the handshake finished.
  size_t queued_plaintext() const;

  /// Sends close_notify (after a completed handshake); later writes are refused.
  void close();

  /// The handshake completed and passed the checks (PSK used, ephemeral key share, identity).
  bool handshake_done() const;
  bool failed() const;
  /// The peer sent close_notify (a clean end; we answered with ours).
  bool peer_closed() const;
  /// A sentence naming what went wrong, once failed().
  std::optional<std::string> error() const;
  tls_failure failure() const;

  tls_side side() const;
  /// The PSK identity of this connection once handshake_done() (empty strings before): on the
  /// server side the one the peer presented and proved, on the client side the one it sent.
  /// sender is the connecting node's id either way.
  const tls_psk_identity& psk_identity() const;
  /// The connecting side's node id once handshake_done() (server side: the peer's id).
  const std::string& peer_sender_id() const { return psk_identity().sender; }
  /// The identity's target was "*" (the client did not name this node).
  bool wildcard_target() const { return psk_identity().target == tls_wildcard_target; }
  /// The access key the peer (server side) or we (client side) authenticated with; empty when
  /// the node secret was used, or before handshake_done().
  const std::string& user_access_key() const { return psk_identity().access_key; }
  /// The ephemeral key exchange group of the handshake ("X25519"), empty before it is done.
  const std::string& key_exchange_group() const;

  /// Counters (for tests and logs).
  uint64_t records_written() const;
  uint64_t key_updates_sent() const;

  struct impl; // opaque: the SSL and its state

private:
  std::unique_ptr<impl> impl_;
};

} // namespace dfs
