/*
 * res_agi_rs C shim, the metrics endpoint (issues 21, 27): a URI on Asterisk's HTTP server
 * (http.conf) whose body is Prometheus's text format, made by Rust (rs_metrics_render, behind
 * the guard), with Basic authentication as res_prometheus has it; and, where res_prometheus
 * runs, the same text in its scrape. Only what C alone can do; printf-like calls always get
 * "%s".
 */
#include "asterisk.h"

#include <dlfcn.h>

#include "asterisk/module.h"
#include "asterisk/logger.h"
#include "asterisk/lock.h"
#include "asterisk/astobj2.h"
#include "asterisk/strings.h"
#include "asterisk/utils.h"
#include "asterisk/http.h"
#include "asterisk/paths.h"
#ifdef RS_PROMETHEUS
#include "asterisk/res_prometheus.h"
#endif

extern size_t rs_metrics_render(char *buf, size_t cap);

/* ---- Who is inside (issue 27) ----
 * The HTTP server does NOT call a URI's callback under its URI list's lock: main/http.c
 * handle_uri (20.20.1, 22.10.1, 23.4.1, certified-20.7-cert11, certified-22.8-cert4) finds
 * the URI under AST_RWLIST_RDLOCK(&uris), unlocks, and only then calls urih->callback(...).
 * So ast_http_uri_unlink does not wait for a request being answered (one whose client does
 * not read stays in ast_http_send up to http.conf's session_inactivity). Unload therefore
 * waits until nothing is inside (crate::module): a request is counted in as the very first
 * act of our callbacks and out as their last, after ast_http_send has returned; `entries`
 * counts every entry, so unload can also wait for a quiet moment after unlinking (a thread
 * between http.c's unlock and our first instruction is not counted yet). */
static int rs_metrics_inside;
static unsigned int rs_metrics_entries;

int rs_shim_metrics_inside(void)
{
	return __atomic_load_n(&rs_metrics_inside, __ATOMIC_SEQ_CST);
}

unsigned int rs_shim_metrics_entries(void)
{
	return __atomic_load_n(&rs_metrics_entries, __ATOMIC_SEQ_CST);
}

static void rs_metrics_enter(void)
{
	__atomic_fetch_add(&rs_metrics_inside, 1, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&rs_metrics_entries, 1, __ATOMIC_SEQ_CST);
}

static void rs_metrics_leave(void)
{
	__atomic_fetch_sub(&rs_metrics_inside, 1, __ATOMIC_SEQ_CST);
}

/* The metrics text, NUL-terminated, in a buffer the caller frees (ast_free); NULL without
 * memory. */
static char *rs_metrics_text(size_t *len)
{
	size_t cap = 16384, n;
	char *buf;

	for (;;) {
		buf = ast_malloc(cap);
		if (!buf) {
			return NULL;
		}
		n = rs_metrics_render(buf, cap);
		if (n < cap) {
			buf[n] = '\0';
			*len = n;
			return buf;
		}
		ast_free(buf);
		cap = n + 1;
	}
}

/* ---- Basic authentication (auth_username, auth_password, auth_realm in res_agi_rs.conf,
 * checked there; as res_prometheus's http_callback does it, res/res_prometheus.c, with
 * ast_http_get_auth). Empty user: no authentication. */
AST_MUTEX_DEFINE_STATIC(rs_metrics_auth_lock);
static char rs_metrics_user[256];
static char rs_metrics_pass[256];
static char rs_metrics_realm[256];

/* Sets the credentials (all three), or none (user NULL). */
void rs_shim_metrics_auth(const char *user, const char *pass, const char *realm)
{
	ast_mutex_lock(&rs_metrics_auth_lock);
	if (user && pass && realm) {
		ast_copy_string(rs_metrics_user, user, sizeof(rs_metrics_user));
		ast_copy_string(rs_metrics_pass, pass, sizeof(rs_metrics_pass));
		ast_copy_string(rs_metrics_realm, realm, sizeof(rs_metrics_realm));
	} else {
		memset(rs_metrics_user, 0, sizeof(rs_metrics_user));
		memset(rs_metrics_pass, 0, sizeof(rs_metrics_pass));
		memset(rs_metrics_realm, 0, sizeof(rs_metrics_realm));
	}
	ast_mutex_unlock(&rs_metrics_auth_lock);
}

/* Whether `given` equals `expected`, without leaving at the first difference: the time
 * depends on the two lengths only. */
static int rs_same_secret(const char *expected, const char *given)
{
	size_t el = strlen(expected), gl = strlen(given), i;
	unsigned char diff = el != gl;

	for (i = 0; i < el; i++) {
		diff |= (unsigned char) expected[i] ^ (unsigned char) given[i < gl ? i : 0];
	}
	return diff == 0;
}

/* Whether the request may have the metrics; if not, `realm` is the realm to challenge. */
static int rs_metrics_authorized(struct ast_variable *headers, char *realm, size_t realm_len)
{
	struct ast_http_auth *auth = ast_http_get_auth(headers);
	int ok;

	ast_mutex_lock(&rs_metrics_auth_lock);
	if (!rs_metrics_user[0]) {
		ok = 1;
	} else {
		/* Both compared whatever the first says (no & short-circuit). */
		ok = auth != NULL;
		ok &= rs_same_secret(rs_metrics_user, auth && auth->userid ? auth->userid : "");
		ok &= rs_same_secret(rs_metrics_pass, auth && auth->password ? auth->password : "");
		ast_copy_string(realm, rs_metrics_realm, realm_len);
	}
	ast_mutex_unlock(&rs_metrics_auth_lock);
	ao2_cleanup(auth);
	return ok;
}

static void rs_metrics_answer(struct ast_tcptls_session_instance *ser, enum ast_http_method method,
	struct ast_variable *headers)
{
	struct ast_str *out, *hdr;
	char realm[256];
	size_t n;
	char *buf;

	if (method != AST_HTTP_GET && method != AST_HTTP_HEAD) {
		ast_http_error(ser, 405, "Method Not Allowed", "GET or HEAD only");
		return;
	}
	if (!rs_metrics_authorized(headers, realm, sizeof(realm))) {
		/* As res_prometheus answers (res/res_prometheus.c http_callback, err401). */
		hdr = ast_str_create(128);
		if (!hdr) {
			ast_http_error(ser, 500, "Server Error", "Out of memory");
			return;
		}
		ast_str_set(&hdr, 0, "WWW-Authenticate: Basic realm=\"%s\"\r\n", realm);
		/* ast_http_send frees the string. */
		ast_http_send(ser, method, 401, "Unauthorized", hdr, NULL, 0, 1);
		return;
	}
	buf = rs_metrics_text(&n);
	out = buf ? ast_str_create(n + 1) : NULL;
	hdr = ast_str_create(128);
	if (!buf || !out || !hdr) {
		ast_free(out);
		ast_free(hdr);
		ast_free(buf);
		ast_http_error(ser, 500, "Server Error", "Out of memory");
		return;
	}
	ast_str_set(&out, 0, "%s", buf);
	ast_str_set(&hdr, 0, "%s", "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n");
	ast_free(buf);
	/* ast_http_send frees both strings. It may block up to http.conf's session_inactivity
	 * on a client that does not read: we are still counted in. */
	ast_http_send(ser, method, 200, NULL, hdr, out, 0, 0);
}

static int rs_shim_metrics_cb(struct ast_tcptls_session_instance *ser, const struct ast_http_uri *urih,
	const char *uri, enum ast_http_method method, struct ast_variable *get_params, struct ast_variable *headers)
{
	/* The first act: counted in. */
	rs_metrics_enter();
	rs_metrics_answer(ser, method, headers);
	/* The last act, after ast_http_send has returned: counted out. What is left of this
	 * library for the thread is this function's return. */
	rs_metrics_leave();
	return 0;
}

static char rs_metrics_path[256];
static int rs_metrics_linked;
static struct ast_http_uri rs_metrics_uri = {
	.description = "res_agi_rs metrics (Prometheus text format)",
	.uri = rs_metrics_path,
	.callback = rs_shim_metrics_cb,
	.has_subtree = 0,
	.data = NULL,
	.key = "res_agi_rs metrics",
};

/* Serves the metrics at `path` (no leading '/'), moving them if they were elsewhere; nothing
 * changes when they are served there already. Callers are serialized by the loader (load,
 * reload and unload run under its module list's lock). */
int rs_shim_metrics_link(const char *path)
{
	if (rs_metrics_linked && !strcmp(rs_metrics_path, path)) {
		return 0;
	}
	if (rs_metrics_linked) {
		ast_http_uri_unlink(&rs_metrics_uri);
		rs_metrics_linked = 0;
	}
	ast_copy_string(rs_metrics_path, path, sizeof(rs_metrics_path));
	/* main/http.c ast_http_uri_link always returns 0 (a URI of the same path linked before
	 * is hidden by this one, not refused): the Rust side looks for a clash first. */
	if (ast_http_uri_link(&rs_metrics_uri)) {
		return -1;
	}
	rs_metrics_linked = 1;
	return 0;
}

/* The path the metrics are served at (no leading '/'), or NULL. */
/* Whether the metrics are served now (any thread: the CLI's `agi show stats`). */
int rs_shim_metrics_is_linked(void)
{
	return __atomic_load_n(&rs_metrics_linked, __ATOMIC_RELAXED);
}

const char *rs_shim_metrics_linked_path(void)
{
	return rs_metrics_linked ? rs_metrics_path : NULL;
}

/* Stops serving them. A request already past http.c's lookup may still be inside (see
 * "Who is inside" above). */
void rs_shim_metrics_unlink(void)
{
	if (rs_metrics_linked) {
		ast_http_uri_unlink(&rs_metrics_uri);
		rs_metrics_linked = 0;
	}
}

/* ---- res_prometheus (issue 27): where it runs, our text joins its scrape.
 * Its functions exist only while res_prometheus.so is loaded (Debian's package has none):
 * nothing links against them; they are looked up in its own handle, dlopen(RTLD_NOLOAD) of
 * the file the loader opened (main/loader.c load_dynamic_module: the module directory and
 * the name), held only for the call, and typed from its header. Not with
 * dlsym(RTLD_DEFAULT, ...): glibc then records res_prometheus as a dependency of ours
 * (elf/dl-sym.c, DL_LOOKUP_ADD_DEPENDENCY), so its dlclose at `module unload` leaves it
 * mapped, a `module load` after that finds the same mapping, and our own unload unmaps it
 * under the running module (seen: Asterisk 20.20.1 died in find_cli, on res_prometheus's
 * CLI entries, at the next CLI command). No loader dependency (.optional_modules) either: a
 * res_prometheus that declines to load would make the loader decline us too (main/loader.c
 * start_resource_list, resource_list_recursive_decline).
 * Safety: res_prometheus is only called while we hold the loader's module list lock
 * (ast_update_module_list_data holds it around its callback; our load, reload and unload
 * are called under it too), and only when its status is "Running": its unload, which needs
 * that lock, cannot run meanwhile, so the code we call is mapped. If res_prometheus is
 * unloaded while we are registered, it forgets us (its unload_module frees the list) and
 * calls nothing of ours. prometheus_callback_unregister takes its scrape_lock, under which
 * res_prometheus calls the callbacks (res/res_prometheus.c scrape_metrics): when it
 * returns, no scrape is inside ours. */
#define RS_PROM_ABSENT 0	/* not in the module list (or these headers lack res_prometheus.h) */
#define RS_PROM_NOT_RUNNING 1	/* in the list, not running (loading at startup, or declined) */
#define RS_PROM_RUNNING 2	/* running; ours not registered (not wanted) */
#define RS_PROM_REGISTERED 3	/* running, ours registered */

/* Whether our text is wanted in res_prometheus's scrape; written by rs_shim_prometheus_sync
 * callers, which the loader serializes. */
static int rs_prometheus_want;

#ifdef RS_PROMETHEUS
static void rs_prometheus_cb(struct ast_str **output)
{
	char *text;
	size_t n;

	rs_metrics_enter();
	text = rs_metrics_text(&n);
	if (text) {
		ast_str_append(output, 0, "%s", text);
		ast_free(text);
	}
	rs_metrics_leave();
}

static struct prometheus_callback rs_prometheus_callback = {
	.name = "res_agi_rs",
	.callback_fn = rs_prometheus_cb,
};

static int rs_prometheus_modentry(const char *module, const char *description, int usecnt,
	const char *status, const char *like, enum ast_module_support_level support_level, void *data)
{
	int *state = data;
	char path[PATH_MAX];
	void *lib;
	__typeof__(prometheus_callback_register) *reg;
	__typeof__(prometheus_callback_unregister) *unreg;

	if (strcasecmp(module, "res_prometheus.so")) {
		return 0;
	}
	*state = RS_PROM_NOT_RUNNING;
	if (strcmp(status, "Running")) {
		return 0;
	}
	snprintf(path, sizeof(path), "%s/%s", ast_config_AST_MODULE_DIR, module);
	lib = dlopen(path, RTLD_LAZY | RTLD_NOLOAD);
	if (!lib) {
		return 0;
	}
	reg = (__typeof__(reg)) dlsym(lib, "prometheus_callback_register");
	unreg = (__typeof__(unreg)) dlsym(lib, "prometheus_callback_unregister");
	if (reg && unreg) {
		/* Removes ours if it is there (by name), so that it is never there twice. */
		unreg(&rs_prometheus_callback);
		*state = rs_prometheus_want && !reg(&rs_prometheus_callback) ? RS_PROM_REGISTERED : RS_PROM_RUNNING;
	}
	dlclose(lib);
	return 1;
}
#endif

/* Registers ours with res_prometheus (want 1) or removes it (0), if res_prometheus runs;
 * want -1: as last asked. Returns RS_PROM_*. */
int rs_shim_prometheus_sync(int want)
{
	int state = RS_PROM_ABSENT;

	if (want >= 0) {
		rs_prometheus_want = want;
	}
#ifdef RS_PROMETHEUS
	ast_update_module_list_data(rs_prometheus_modentry, NULL, &state);
#endif
	return state;
}
