/*
 * res_agi_rs C shim, FastAGI over TLS (issue 21; issue 27). Only what C alone can do;
 * printf-like calls always get "%s".
 *
 * One client connection through Asterisk's tcptls client (its OpenSSL setup, certificate
 * verification and host name check, and their log lines). Each connection has its own
 * ast_tls_config, filled by ast_tls_read_conf from the [tls] settings Rust passes (name/value
 * pairs in Asterisk's own option names): the client start makes a new SSL_CTX in the config
 * it is given, so a shared one would race.
 *
 * Everything here runs on the session's relay thread (src/tls_relay.rs), never on a channel
 * thread: Asterisk's tcptls client marks the thread that connects as one that may not run
 * "dangerous" functions and as a user interface (main/tcptls.c handle_tcptls_connection,
 * called by ast_tcptls_client_start_timeout on the caller's thread, calls
 * ast_thread_inhibit_escalations() and ast_thread_user_interface_set(1) and nothing resets
 * them: 20.20.1, 22.10.1, 23.4.1, certified-20.7-cert11 and certified-22.8-cert4 alike). On a
 * channel thread that blocked DB(), SHELL()... and ast_autoservice_start for the rest of the
 * call.
 *
 * Built only where Asterisk has OpenSSL (build.rs: RS_TLS from autoconfig.h's HAVE_OPENSSL;
 * iostream.h's DO_SSL follows it). Elsewhere every entry refuses and Rust says why, once per
 * call: without DO_SSL, Asterisk's tcptls client would connect in plain text.
 */
#include "asterisk.h"

#include <fcntl.h>
#include <sys/socket.h>

#include "asterisk/module.h"
#include "asterisk/logger.h"
#include "asterisk/strings.h"
#include "asterisk/utils.h"
#include "asterisk/lock.h"
#include "asterisk/astobj2.h"
#include "asterisk/config.h"
#include "asterisk/tcptls.h"
#include "asterisk/iostream.h"

#if defined(RS_TLS) != defined(DO_SSL)
#error "build.rs (HAVE_OPENSSL in autoconfig.h) and iostream.h (DO_SSL) disagree"
#endif

#ifndef RS_TLS
/* ---- An Asterisk built without OpenSSL: no TLS, never plain text instead ---- */
struct rs_tls_conn;

int rs_shim_tls_available(void)
{
	return 0;
}

size_t rs_shim_tls_max_host(void)
{
	return 0;
}

int rs_shim_tls_check(const char *const *names, const char *const *values, int n)
{
	return 0;
}

struct rs_tls_conn *rs_shim_tls_connect(const char *addr, const char *host, const char *const *names,
	const char *const *values, int n, int timeout_ms, int *timed_out)
{
	return NULL;
}

int rs_shim_tls_fd(struct rs_tls_conn *conn)
{
	return -1;
}

ssize_t rs_shim_tls_read(struct rs_tls_conn *conn, void *buf, size_t len, char *why, size_t whylen)
{
	errno = ENOTSUP;
	return -1;
}

ssize_t rs_shim_tls_write(struct rs_tls_conn *conn, const void *buf, size_t len)
{
	errno = ENOTSUP;
	return -1;
}

void rs_shim_tls_close(struct rs_tls_conn *conn)
{
}

#else /* RS_TLS */
#include <openssl/err.h>
#include <openssl/ssl.h>

int rs_shim_tls_available(void)
{
	return 1;
}

size_t rs_shim_tls_max_host(void)
{
	return sizeof(((struct ast_tcptls_session_args *) 0)->hostname) - 1;
}

struct rs_tls_conn {
	struct ast_tcptls_session_args args;	/* the session's parent: lives as long as it */
	struct ast_tls_config *cfg;
	struct ast_tcptls_session_instance *session;
	/* The server closed its TCP connection without a close_notify: at close, no goodbye is
	 * attempted (SSL_shutdown would fail, and ast_iostream_close logs that as an ERROR). */
	int no_close_notify;
};

static void rs_tls_cfg_free(struct ast_tls_config *cfg)
{
	if (!cfg) {
		return;
	}
	ast_ssl_teardown(cfg);
	ast_free(cfg->certfile);
	ast_free(cfg->pvtfile);
	ast_free(cfg->cipher);
	ast_free(cfg->cafile);
	ast_free(cfg->capath);
	ast_free(cfg);
}

/* Checks the settings (names and values as ast_tls_read_conf takes them): 0 when each is
 * taken, else the index + 1 of the first refused. */
int rs_shim_tls_check(const char *const *names, const char *const *values, int n)
{
	struct ast_tcptls_session_args args = { .accept_fd = -1 };
	struct ast_tls_config *cfg = ast_calloc(1, sizeof(*cfg));
	int i, bad = 0;

	if (!cfg) {
		return -1;
	}
	for (i = 0; i < n && !bad; i++) {
		if (ast_tls_read_conf(cfg, &args, names[i], values[i])) {
			bad = i + 1;
		}
	}
	rs_tls_cfg_free(cfg);
	return bad;
}

/* A thread that shuts a socket down if not stopped within `ms`. It holds its own duplicate
 * of the descriptor: when the connect fails, the tcptls client closes its socket before the
 * watchdog is stopped (main/tcptls.c ast_tcptls_client_start_timeout), and by then the
 * number may be another connection's (RTP, AMI, SIP over TCP). shutdown() on the duplicate
 * acts on our socket, whatever became of the client's descriptor. */
struct rs_watchdog {
	pthread_t thread;
	ast_mutex_t lock;
	ast_cond_t cond;
	struct timespec deadline;
	int fd, done, fired;
};

static void *rs_watchdog_main(void *arg)
{
	struct rs_watchdog *dog = arg;

	ast_mutex_lock(&dog->lock);
	while (!dog->done) {
		if (ast_cond_timedwait(&dog->cond, &dog->lock, &dog->deadline) == ETIMEDOUT) {
			if (!dog->done) {
				dog->fired = 1;
				shutdown(dog->fd, SHUT_RDWR);
			}
			break;
		}
	}
	ast_mutex_unlock(&dog->lock);
	return NULL;
}

static int rs_watchdog_start(struct rs_watchdog *dog, int fd, int ms)
{
	struct timeval at = ast_tvadd(ast_tvnow(), ast_samp2tv(ms, 1000));

	memset(dog, 0, sizeof(*dog));
	dog->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (dog->fd < 0) {
		return -1;
	}
	dog->deadline.tv_sec = at.tv_sec;
	dog->deadline.tv_nsec = at.tv_usec * 1000;
	ast_mutex_init(&dog->lock);
	ast_cond_init(&dog->cond, NULL);
	if (ast_pthread_create(&dog->thread, NULL, rs_watchdog_main, dog)) {
		ast_cond_destroy(&dog->cond);
		ast_mutex_destroy(&dog->lock);
		close(dog->fd);
		return -1;
	}
	return 0;
}

/* Stops the watchdog and waits for it (joined: its thread runs none of our code after). */
static void rs_watchdog_stop(struct rs_watchdog *dog)
{
	ast_mutex_lock(&dog->lock);
	dog->done = 1;
	ast_cond_signal(&dog->cond);
	ast_mutex_unlock(&dog->lock);
	pthread_join(dog->thread, NULL);
	ast_cond_destroy(&dog->cond);
	ast_mutex_destroy(&dog->lock);
	close(dog->fd);
}

/* Connects to `addr` ("ip:port") for host name `host` (checked against the certificate unless
 * the settings say tlsdontverifyserver), TLS handshake included, within `timeout_ms` for both.
 * NULL on failure (Asterisk has logged why; `*timed_out` says the watchdog stopped it). */
struct rs_tls_conn *rs_shim_tls_connect(const char *addr, const char *host, const char *const *names,
	const char *const *values, int n, int timeout_ms, int *timed_out)
{
	struct rs_tls_conn *conn = ast_calloc(1, sizeof(*conn));
	struct rs_watchdog dog;
	struct ast_tcptls_session_instance *session;
	int i;

	if (!conn) {
		return NULL;
	}
	conn->args.accept_fd = -1;
	conn->args.name = "FastAGI over TLS";
	/* The name is checked against the certificate as tcptls holds it: a longer one would be
	 * cut to its field and then fail "did not match" (Rust refuses such names first). */
	if (strlen(host) >= sizeof(conn->args.hostname)) {
		ast_free(conn);
		return NULL;
	}
	conn->cfg = ast_calloc(1, sizeof(*conn->cfg));
	if (!conn->cfg || !ast_sockaddr_parse(&conn->args.remote_address, addr, PARSE_PORT_REQUIRE)) {
		rs_tls_cfg_free(conn->cfg);
		ast_free(conn);
		return NULL;
	}
	conn->cfg->enabled = 1;
	for (i = 0; i < n; i++) {
		ast_tls_read_conf(conn->cfg, &conn->args, names[i], values[i]);
	}
	ast_copy_string(conn->args.hostname, host, sizeof(conn->args.hostname));
	conn->args.tls_cfg = conn->cfg;
	session = ast_tcptls_client_create(&conn->args);
	if (!session) {
		rs_tls_cfg_free(conn->cfg);
		ast_free(conn);
		return NULL;
	}
	/* The connect and the handshake run on a blocking socket: a watchdog shuts it down when
	 * they take longer than timeout_ms together (a server that stalls in the middle of the
	 * handshake; Asterisk's own bound on a handshake is 30 s, or none before 22). */
	if (rs_watchdog_start(&dog, conn->args.accept_fd, timeout_ms)) {
		ao2_ref(session, -1);
		rs_tls_cfg_free(conn->cfg);
		ast_free(conn);
		return NULL;
	}
	session = ast_tcptls_client_start_timeout(session, timeout_ms);
	rs_watchdog_stop(&dog);
	*timed_out = dog.fired;
	if (!session) {
		rs_tls_cfg_free(conn->cfg);
		ast_free(conn);
		return NULL;
	}
	if (dog.fired) {
		ast_tcptls_close_session_file(session);
		ao2_ref(session, -1);
		rs_tls_cfg_free(conn->cfg);
		ast_free(conn);
		return NULL;
	}
	conn->session = session;
	/* Reads never wait (the relay polls); a write waits for room at most 5 s. */
	ast_iostream_set_exclusive_input(session->stream, 0);
	ast_iostream_nonblock(session->stream);
	ast_iostream_set_timeout_inactivity(session->stream, 5000);
	return conn;
}

int rs_shim_tls_fd(struct rs_tls_conn *conn)
{
	return ast_iostream_get_fd(conn->session->stream);
}

/* ast_iostream_read: bytes read, 0 at the end (the server's close_notify), -1 with errno
 * (EAGAIN: nothing yet), -2 when the server closed its TCP connection without a close_notify
 * and nothing of its is left unread (the common simple server: Python's ssl socket closed
 * without unwrap()). That case is looked for before OpenSSL reads: once SSL_read has met the
 * EOF, OpenSSL 3 holds the connection failed ("unexpected eof while reading"; its SSL_shutdown
 * then fails, which ast_iostream_close logs as an ERROR). On an error, OpenSSL's reason
 * (e.g. the server's alert) goes to `why`. */
ssize_t rs_shim_tls_read(struct rs_tls_conn *conn, void *buf, size_t len, char *why, size_t whylen)
{
	ssize_t res;
	SSL *ssl = ast_iostream_get_ssl(conn->session->stream);
	char peek;

	if (ssl && !SSL_has_pending(ssl)
		&& recv(ast_iostream_get_fd(conn->session->stream), &peek, 1, MSG_PEEK | MSG_DONTWAIT) == 0) {
		conn->no_close_notify = 1;
		return -2;
	}
	ERR_clear_error();
	res = ast_iostream_read(conn->session->stream, buf, len);
	if (res < 0 && errno != EAGAIN && why && whylen) {
		unsigned long e = ERR_peek_last_error();
		if (e) {
			ERR_error_string_n(e, why, whylen);
		} else {
			ast_copy_string(why, strerror(errno), whylen);
		}
	}
	return res;
}

ssize_t rs_shim_tls_write(struct rs_tls_conn *conn, const void *buf, size_t len)
{
	return ast_iostream_write(conn->session->stream, buf, len);
}

void rs_shim_tls_close(struct rs_tls_conn *conn)
{
	if (!conn) {
		return;
	}
	if (conn->no_close_notify) {
		/* Nobody left to say goodbye to: under quiet shutdown SSL_shutdown returns at once
		 * without writing (ssl3_shutdown), so ast_iostream_close has nothing to log. */
		SSL *ssl = ast_iostream_get_ssl(conn->session->stream);
		if (ssl) {
			SSL_set_quiet_shutdown(ssl, 1);
		}
	}
	ast_tcptls_close_session_file(conn->session);
	ao2_ref(conn->session, -1);
	rs_tls_cfg_free(conn->cfg);
	ast_free(conn);
}
#endif /* RS_TLS */
