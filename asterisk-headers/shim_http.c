/*
 * res_agi_rs C shim, the metrics endpoint (issue 21): a URI on Asterisk's HTTP server
 * (http.conf) whose body is Prometheus's text format, made by Rust (rs_metrics_render,
 * behind the guard). Only what C alone can do; printf-like calls always get "%s".
 */
#include "asterisk.h"

#include "asterisk/module.h"
#include "asterisk/logger.h"
#include "asterisk/strings.h"
#include "asterisk/utils.h"
/* ---- The metrics endpoint (issue 21): a URI on Asterisk's HTTP server (http.conf) whose
 * body is Prometheus's text format, made by Rust (rs_metrics_render, behind the guard).
 * One static descriptor; the HTTP server calls it under its URI list's read lock, which
 * ast_http_uri_unlink takes for writing: once unlinked, no request is inside it. */
#include "asterisk/http.h"

extern size_t rs_metrics_render(char *buf, size_t cap);

static int rs_shim_metrics_cb(struct ast_tcptls_session_instance *ser, const struct ast_http_uri *urih,
	const char *uri, enum ast_http_method method, struct ast_variable *get_params, struct ast_variable *headers)
{
	struct ast_str *out, *hdr;
	size_t cap = 16384, n;
	char *buf;

	if (method != AST_HTTP_GET && method != AST_HTTP_HEAD) {
		ast_http_error(ser, 405, "Method Not Allowed", "GET or HEAD only");
		return 0;
	}
	for (;;) {
		buf = ast_malloc(cap);
		if (!buf) {
			ast_http_error(ser, 500, "Server Error", "Out of memory");
			return 0;
		}
		n = rs_metrics_render(buf, cap);
		if (n < cap) {
			buf[n] = '\0';
			break;
		}
		ast_free(buf);
		cap = n + 1;
	}
	out = ast_str_create(n + 1);
	hdr = ast_str_create(128);
	if (!out || !hdr) {
		ast_free(out);
		ast_free(hdr);
		ast_free(buf);
		ast_http_error(ser, 500, "Server Error", "Out of memory");
		return 0;
	}
	ast_str_set(&out, 0, "%s", buf);
	ast_str_set(&hdr, 0, "%s", "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n");
	ast_free(buf);
	/* ast_http_send frees both strings. */
	ast_http_send(ser, method, 200, NULL, hdr, out, 0, 0);
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

/* Serves the metrics at `path` (no leading '/'), moving them if they were elsewhere. */
int rs_shim_metrics_link(const char *path)
{
	if (rs_metrics_linked) {
		ast_http_uri_unlink(&rs_metrics_uri);
		rs_metrics_linked = 0;
	}
	ast_copy_string(rs_metrics_path, path, sizeof(rs_metrics_path));
	if (ast_http_uri_link(&rs_metrics_uri)) {
		return -1;
	}
	rs_metrics_linked = 1;
	return 0;
}

void rs_shim_metrics_unlink(void)
{
	if (rs_metrics_linked) {
		ast_http_uri_unlink(&rs_metrics_uri);
		rs_metrics_linked = 0;
	}
}
