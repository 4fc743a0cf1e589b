/*
 * session.h - the session engine: TCP streams in, IMAP timelines out.
 *
 * The engine sits behind the TCP stage (it provides the tcp_callbacks),
 * recognises IMAP flows by port or by content, runs one IMAP parser per
 * direction, follows STARTTLS, COMPRESS=DEFLATE, AUTHENTICATE and IDLE,
 * pairs tagged results with their commands, tracks each session's state
 * and mailbox, raises the findings of the catalog (findings.h) and hands
 * every event, as JSON text built field by field (event.h), to the
 * output stage.
 */
#ifndef IMT_SESSION_H
#define IMT_SESSION_H

#include <stdint.h>

#include "imt_limits.h"
#include "output.h"
#include "tcp.h"
#include "tls.h"

struct sess_config {
	struct imt_limits lim;
	const uint16_t *ports;       /* IMAP ports (plaintext) */
	size_t nports;
	const uint16_t *tls_ports;   /* implicit-TLS IMAP ports (993) */
	size_t ntls_ports;
	int show_secrets;            /* do not redact passwords and SASL data */
	int decrypted_upstream;      /* taken behind a TLS-inspecting appliance:
				      * plaintext after STARTTLS is expected, its
				      * finding is only info */
	unsigned brute_failures;     /* auth-brute-force: this many failures... */
	unsigned brute_window;       /* ...within this many seconds */
	const struct tls_keys *keys; /* TLS secrets (not owned, may grow while
				      * the engine runs), or NULL */
	uint16_t community_id_seed;  /* seed of every event's community_id */
};

/* Fills *cfg with the defaults (ports 143 and 993, 5 failures in 600 s). */
void sess_config_default(struct sess_config *cfg);

struct sess_engine;

/* Creates the engine writing to out (not owned).  NULL only when out of
 * memory. */
struct sess_engine *sess_engine_new(const struct sess_config *cfg,
				    struct output *out);

/* Callbacks to give the TCP stage, with the engine as their user. */
void sess_engine_tcp_callbacks(struct tcp_callbacks *cb_r);

/* A finding not tied to a session (capture or ip stage). */
void sess_engine_global_finding(struct sess_engine *e,
				const struct imt_finding_report *f,
				int64_t ts_sec, uint32_t ts_nsec, int ts_nano);

/*
 * Turns the evidence export on (docs/extract.md): every literal carrying
 * message data is written under dir.  Call before the first packet.
 * Returns 0, or -1 with a message naming the path in err (errsize bytes).
 */
int sess_engine_extract(struct sess_engine *e, const char *dir,
			char *err, size_t errsize);

/* Ends the export (every session must be closed): 0, or -1 when it
 * stopped on an error, named in err (or err empty when the engine said
 * it on standard error already).  Accepts an engine without one. */
int sess_engine_extract_close(struct sess_engine *e, char *err, size_t errsize);

/*
 * Work for a thread that has nothing else to do (the engine's, while the
 * reading thread goes through handshakes): `coming` flows are in their
 * handshake (tcp_stats.flows_waiting), each a session to be; memory for them
 * is made ready, at most SESS_PREPARE_MAX bytes, one 2 MB block per
 * call.  Returns 1 when it made a block (call again), 0 when there is
 * nothing (more) to do.  Changes nothing that can be seen but the
 * resident size.
 */
#define SESS_PREPARE_MAX ((size_t)64 << 20)
int sess_engine_prepare(struct sess_engine *e, uint64_t coming);

/* Writes the capture-wide totals to the output. */
void sess_engine_totals(struct sess_engine *e);

/* A session that was not decrypted although the key store now holds a
 * secret for its client random: its keys came after its handshake (a
 * pcapng Decryption Secrets Block later in the capture). */
typedef void (*sess_late_keys_fn)(void *user, uint64_t session,
				  const char *client, const char *server);

/*
 * Calls fn for each session that ended without keys (the last
 * SESS_KEYLESS_MAX remembered) whose keys are in the store now.  Returns
 * the number of such sessions; *forgotten_r (may be NULL) is set to the
 * number of sessions without keys that were not remembered.
 */
size_t sess_engine_late_keys(const struct sess_engine *e, sess_late_keys_fn fn,
			     void *user, uint64_t *forgotten_r);

/* Frees the engine; all sessions must have been closed (tcp_reasm_finish)
 * before.  Accepts NULL. */
void sess_engine_free(struct sess_engine *e);

#endif
