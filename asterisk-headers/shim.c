/*
 * res_agi_rs C shim: only what C alone can do. AST_MODULE_INFO (with the target's
 * AST_BUILDOPT_SUM), static descriptors Asterisk keeps pointers to, and one plain function
 * per Asterisk macro the Rust side needs. No logic lives here.
 *
 * Rule: no text from Rust ever becomes a format string; every printf-like call below
 * passes "%s" and the text as its argument.
 */
#include "asterisk.h"

#include "asterisk/module.h"
#include "asterisk/logger.h"
#include "asterisk/manager.h"
#include "asterisk/pbx.h"
#include "asterisk/cli.h"
#include "asterisk/channel.h"
#include "asterisk/datastore.h"
#include "asterisk/frame.h"
#include "asterisk/strings.h"
#include "asterisk/astobj2.h"
#include "asterisk/utils.h"
#include "asterisk/options.h"
#include "asterisk/format_cap.h"
#include "asterisk/format_cache.h"
#include "asterisk/speech.h"
#include "asterisk/stasis.h"
#include "asterisk/stasis_channels.h"
#include "asterisk/paths.h"
#include "asterisk/app.h"

/* We provide res_agi's public API (app_stack's GOSUB registers through it). Debian's Asterisk
 * is built with OPTIONAL_API: there the functions go to Asterisk's optional-API registry
 * (rs_shim_api_provide below). agi.h's own AST_API_MODULE mode would provide them from a
 * constructor unconditionally and withdraw them at dlclose unconditionally: loaded beside
 * stock res_agi.so, a declined load would then take stock's API away for everyone. So agi.h
 * is read here in its plain (non-optional) form, and the provision is done by hand. */
#if defined(OPTIONAL_API)
#define RS_OPTIONAL_API 1
#undef OPTIONAL_API
#endif
#include "asterisk/agi.h"
#include "asterisk/test.h"
#include "asterisk/xml.h"
#include "asterisk/xmldoc.h"

#include "child_fds.h"

/* build.rs decided the build options from these same headers (RS_*); they must agree. */
#if defined(RS_TEST_FRAMEWORK) != defined(TEST_FRAMEWORK)
#error "build.rs and asterisk/buildopts.h disagree on TEST_FRAMEWORK"
#endif
#if defined(RS_XML_DOCS) != defined(AST_XML_DOCS)
#error "build.rs and asterisk/autoconfig.h disagree on AST_XML_DOCS"
#endif

#if defined(RS_OPTIONAL_API)
/* optional_api.h declares these only when OPTIONAL_API is defined (see above). */
typedef void (*rs_optional_fn)(void);
void ast_optional_api_provide(const char *symname, rs_optional_fn impl);
void ast_optional_api_unprovide(const char *symname, rs_optional_fn impl);
#define RS_API(name) rs_api_##name
#else
#define RS_API(name) name
#endif

/* ---- implemented in Rust (src/entry.rs); each runs behind the panic guard ---- */
extern int rs_agi_load(void);
extern int rs_agi_unload(void);
extern int rs_agi_app_exec(struct ast_channel *chan, const char *data);
extern int rs_agi_eagi_exec(struct ast_channel *chan, const char *data);
extern int rs_agi_deadagi_exec(struct ast_channel *chan, const char *data);
extern int rs_agi_manager_action(struct mansession *s, const struct message *m);
extern int rs_agi_manager_interrupt(struct mansession *s, const struct message *m);
extern int rs_agi_manager_flush(struct mansession *s, const struct message *m);
extern int rs_agi_manager_claim(struct mansession *s, const struct message *m);
extern int rs_agi_manager_channels(struct mansession *s, const struct message *m);
extern int rs_agi_reload(void);
extern char *rs_agi_cli_interrupt(struct ast_cli_entry *e, int cmd, struct ast_cli_args *a);
extern char *rs_agi_cli_flush(struct ast_cli_entry *e, int cmd, struct ast_cli_args *a);
extern char *rs_agi_cli_show_channels(struct ast_cli_entry *e, int cmd, struct ast_cli_args *a);
extern char *rs_agi_cli_show_memory(struct ast_cli_entry *e, int cmd, struct ast_cli_args *a);
extern char *rs_agi_cli_show_stats(struct ast_cli_entry *e, int cmd, struct ast_cli_args *a);
extern char *rs_agi_cli_claim(struct ast_cli_entry *e, int cmd, struct ast_cli_args *a);
extern char *rs_agi_cli_exec(struct ast_cli_entry *e, int cmd, struct ast_cli_args *a);
extern char *rs_agi_cli_debug(struct ast_cli_entry *e, int cmd, struct ast_cli_args *a);
extern char *rs_agi_cli_show(struct ast_cli_entry *e, int cmd, struct ast_cli_args *a);
extern char *rs_agi_cli_dump_html(struct ast_cli_entry *e, int cmd, struct ast_cli_args *a);
extern void rs_agi_datastore_destroy(void *data);
extern void rs_agi_datastore_fixup(void *data, struct ast_channel *old_chan, struct ast_channel *new_chan);

/* The per-channel Async AGI queue lives in a channel datastore of this type. A masquerade
 * (ast_channel_move: Pickup, attended transfer...) moves it to the channel that takes over
 * this one's identity; chan_fixup tells the queue so. */
static const struct ast_datastore_info rs_agi_datastore_info = {
	.type = "AsyncAGI",
	.destroy = rs_agi_datastore_destroy,
	.chan_fixup = rs_agi_datastore_fixup,
};

static struct ast_cli_entry rs_cli_entries[] = {
	AST_CLI_DEFINE(rs_agi_cli_exec, "Add AGI command to a channel in Async AGI"),
	AST_CLI_DEFINE(rs_agi_cli_debug, "Enable/Disable AGI debugging"),
	AST_CLI_DEFINE(rs_agi_cli_show, "List AGI commands or specific help"),
	AST_CLI_DEFINE(rs_agi_cli_dump_html, "Dumps a list of AGI commands in HTML format"),
	AST_CLI_DEFINE(rs_agi_cli_interrupt, "Interrupt the AGI command running on a channel in Async AGI"),
	AST_CLI_DEFINE(rs_agi_cli_flush, "Cancel the AGI commands queued on a channel in Async AGI"),
	AST_CLI_DEFINE(rs_agi_cli_show_channels, "List the channels in Async AGI"),
	AST_CLI_DEFINE(rs_agi_cli_show_memory, "Show the memory res_agi_rs holds"),
	AST_CLI_DEFINE(rs_agi_cli_claim, "Give a channel in Async AGI to one application, or release it"),
	AST_CLI_DEFINE(rs_agi_cli_show_stats, "Show res_agi_rs's counters (the metrics)"),
};

extern int rs_agi_register(struct ast_module *mod, agi_command *cmd);
extern int rs_agi_unregister(agi_command *cmd);
extern int rs_agi_register_multiple(struct ast_module *mod, struct agi_command *cmd, unsigned int len);
extern int rs_agi_unregister_multiple(struct agi_command *cmd, unsigned int len);

/* ---- res_agi's public API: forwards to Rust (src/registry.rs) ---- */
int RS_API(ast_agi_register)(struct ast_module *mod, agi_command *cmd)
{
	return rs_agi_register(mod, cmd);
}

int RS_API(ast_agi_unregister)(agi_command *cmd)
{
	return rs_agi_unregister(cmd);
}

int RS_API(ast_agi_register_multiple)(struct ast_module *mod, struct agi_command *cmd, unsigned int len)
{
	return rs_agi_register_multiple(mod, cmd, len);
}

int RS_API(ast_agi_unregister_multiple)(struct agi_command *cmd, unsigned int len)
{
	return rs_agi_unregister_multiple(cmd, len);
}

int RS_API(ast_agi_send)(int fd, struct ast_channel *chan, char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "agi set debug": AGI traffic in the log (read by ast_agi_send and by Rust). */
static int rs_agidebug;

void rs_shim_set_agi_debug(int on)
{
	rs_agidebug = on;
}

int rs_shim_agi_debug(void)
{
	return rs_agidebug;
}

/* ast_agi_send is printf-like (C variadic): it formats here and writes the text to the
 * command's output descriptor, which the Rust engine reads back. */
AST_THREADSTORAGE(rs_agi_buf);

int RS_API(ast_agi_send)(int fd, struct ast_channel *chan, char *fmt, ...)
{
	int res;
	va_list ap;
	struct ast_str *buf;

	if (!(buf = ast_str_thread_get(&rs_agi_buf, 256))) {
		return -1;
	}
	va_start(ap, fmt);
	res = ast_str_set_va(&buf, 0, fmt, ap);
	va_end(ap);
	if (res == -1) {
		ast_log(LOG_ERROR, "Out of memory\n");
		return -1;
	}
	if (rs_agidebug) {
		if (chan) {
			ast_verbose("<%s>AGI Tx >> %s", ast_channel_name(chan), ast_str_buffer(buf));
		} else {
			ast_verbose("AGI Tx >> %s", ast_str_buffer(buf));
		}
	}
	return ast_carefulwrite(fd, ast_str_buffer(buf), ast_str_strlen(buf), 100);
}

/* Our public API in Asterisk's optional-API registry. Provided as soon as the module is
 * mapped (as agi.h's own constructor would: app_stack, loaded before us at the same priority,
 * registers GOSUB during its load), but only when nobody provides it yet: with stock
 * res_agi.so loaded (an admin who forgot "noload => res_agi.so"), stock's functions stay in
 * place, and withdrawing ours (declined load, unload, dlclose) never takes stock's away. */
#if defined(RS_OPTIONAL_API)
static const struct {
	const char *name;
	rs_optional_fn impl;
} rs_api[] = {
	{ "ast_agi_register", (rs_optional_fn) rs_api_ast_agi_register },
	{ "ast_agi_unregister", (rs_optional_fn) rs_api_ast_agi_unregister },
	{ "ast_agi_register_multiple", (rs_optional_fn) rs_api_ast_agi_register_multiple },
	{ "ast_agi_unregister_multiple", (rs_optional_fn) rs_api_ast_agi_unregister_multiple },
	{ "ast_agi_send", (rs_optional_fn) rs_api_ast_agi_send },
};
static int rs_api_provided;

void ast_optional_api_use(const char *symname, rs_optional_fn *optional_ref, rs_optional_fn stub, const char *module);
void ast_optional_api_unuse(const char *symname, rs_optional_fn *optional_ref, const char *module);

static void rs_api_probe_stub(void)
{
}

/* The implementation the registry holds for api[i] now: 1 ours, 0 another, -1 none. */
static int rs_api_current(size_t i)
{
	rs_optional_fn ref = NULL;
	int res;

	ast_optional_api_use(rs_api[i].name, &ref, rs_api_probe_stub, "res_agi_rs");
	res = ref == rs_api[i].impl ? 1 : (!ref || ref == rs_api_probe_stub) ? -1 : 0;
	ast_optional_api_unuse(rs_api[i].name, &ref, "res_agi_rs");
	return res;
}
#endif

/* Provides our API if nobody does. */
void rs_shim_api_provide(void)
{
#if defined(RS_OPTIONAL_API)
	size_t i;

	if (rs_api_provided || rs_api_current(0) >= 0) {
		return;
	}
	for (i = 0; i < ARRAY_LEN(rs_api); i++) {
		ast_optional_api_provide(rs_api[i].name, rs_api[i].impl);
	}
	rs_api_provided = 1;
#endif
}

/* Withdraws what we provided, where it is still ours. */
void rs_shim_api_withdraw(void)
{
#if defined(RS_OPTIONAL_API)
	size_t i;

	if (!rs_api_provided) {
		return;
	}
	for (i = 0; i < ARRAY_LEN(rs_api); i++) {
		if (rs_api_current(i) == 1) {
			ast_optional_api_unprovide(rs_api[i].name, rs_api[i].impl);
		}
	}
	rs_api_provided = 0;
#endif
}

static void __attribute__((constructor)) rs_api_at_map(void)
{
	rs_shim_api_provide();
}

static void __attribute__((destructor)) rs_api_at_unmap(void)
{
	rs_shim_api_withdraw();
}

/* ---- module references around a foreign command ---- */
struct ast_module *rs_shim_module_running_ref(struct ast_module *mod)
{
	return ast_module_running_ref(mod);
}

void rs_shim_module_unref(struct ast_module *mod)
{
	ast_module_unref(mod);
}

/* ---- registration ---- */
int rs_shim_register_app(const char *name, int kind)
{
	switch (kind) {
	case 1:
		return ast_register_application_xml(name, rs_agi_eagi_exec);
	case 2:
		return ast_register_application_xml(name, rs_agi_deadagi_exec);
	default:
		return ast_register_application_xml(name, rs_agi_app_exec);
	}
}

/* Our own actions' help. With XML docs it comes from docs/xml/res_agi_rs-en_US.xml (installed
 * beside Asterisk's); without them (configure --disable-xmldoc) manager.c ast_manager_register2
 * keeps the synopsis and description given here, and `manager show command` prints them. Stock's
 * AGI action has no text there, as in stock. */
#ifdef RS_XML_DOCS
#define RS_REGISTER_OURS(action, authority, func, synopsis, description) \
	ast_manager_register_xml(action, authority, func)
#else
#define RS_REGISTER_OURS(action, authority, func, synopsis, description) \
	ast_manager_register2(action, authority, func, AST_MODULE_SELF, synopsis, description)
#endif

/* which: 0 AGI (stock's), 1 AGIInterrupt, 2 AGIFlush, 3 AGIClaim, 4 AGIChannels. */
int rs_shim_register_manager(const char *action, int authority, int which)
{
	switch (which) {
	case 1:
		return RS_REGISTER_OURS(action, authority, rs_agi_manager_interrupt,
			"Interrupt the AGI command running on a channel in Async AGI.",
			"Headers: Channel (name or uniqueid, required), Flush (yes: cancel the queued commands too),\n"
			"Owner (the owner's token, when the channel is claimed).\n"
			"Stops the running prompt, wait, recording, speech recognition or EXEC of Playback,\n"
			"Background, ControlPlayback, Wait, WaitExten, MusicOnHold or Read: its AsyncAGIExec\n"
			"comes at once with 'Interrupted: yes', then the next queued command runs.\n");
	case 2:
		return RS_REGISTER_OURS(action, authority, rs_agi_manager_flush,
			"Cancel the AGI commands queued on a channel in Async AGI.",
			"Headers: Channel (name or uniqueid, required), Owner (when the channel is claimed).\n"
			"Every command still queued (not the running one) gets its AsyncAGIExec with\n"
			"'Cancelled: flush'. The response says how many were flushed.\n");
	case 3:
		return RS_REGISTER_OURS(action, authority, rs_agi_manager_claim,
			"Make a channel in Async AGI belong to one application.",
			"Headers: Channel (required), Owner (required: the token that takes the channel; empty\n"
			"to release it), CurrentOwner (the present owner's token, to release or hand over).\n"
			"Every AGI event of an owned channel carries 'Owner: token'; AGI, AGIInterrupt and\n"
			"AGIFlush must carry a matching Owner header.\n");
	case 4:
		return RS_REGISTER_OURS(action, authority, rs_agi_manager_channels,
			"List the channels in Async AGI.",
			"One AsyncAGIChannel event per channel, then AsyncAGIChannelsComplete.\n");
	default:
		return ast_manager_register_xml(action, authority, rs_agi_manager_action);
	}
}

/* ---- res_agi_rs.conf ----
 * Returns 0 with *cfg set (NULL when the file is missing), or -1 when the file is invalid. */
int rs_shim_config_load(const char *file, struct ast_config **cfg)
{
	struct ast_flags flags = { 0 };
	struct ast_config *c = ast_config_load2(file, "res_agi_rs", flags);

	if (c == CONFIG_STATUS_FILEINVALID) {
		*cfg = NULL;
		return -1;
	}
	*cfg = (c == CONFIG_STATUS_FILEUNCHANGED) ? NULL : c;
	return 0;
}

/* One CLI entry at a time, so that a load that fails half-way (e.g. stock res_agi already
 * holds "agi exec") knows exactly which ones to take back. */
int rs_shim_cli_count(void)
{
	return ARRAY_LEN(rs_cli_entries);
}

int rs_shim_register_cli(int i)
{
	return ast_cli_register(&rs_cli_entries[i]);
}

/* 0 when entry `i` is out of Asterisk's CLI list, -1 when Asterisk kept it. main/cli.c
 * ast_cli_unregister (identical in 20.20.1, 22.10.1, 23.4.1 and certified-20.7) returns 0
 * even when it refuses an entry in use ("Can't remove command that is in use"): the unload
 * then went on and left our static entry in the list of an unmapped module (issue 27,
 * tests/lifetime.rs). It frees and clears `_full_cmd` only when it removes the entry. */
int rs_shim_unregister_cli(int i)
{
	ast_cli_unregister(&rs_cli_entries[i]);
	return rs_cli_entries[i]._full_cmd ? -1 : 0;
}

/* Threads that hold one of our CLI entries: ast_cli_command_full (main/cli.c) counts itself in
 * `inuse` under the list's read lock and counts out after the handler returns, writing to our
 * entry. A thread that found an entry just before ast_cli_unregister removed it still runs
 * the handler and writes `inuse` afterwards: unload waits for the sum to be 0. */
int rs_shim_cli_inuse(void)
{
	size_t i;
	int n = 0;

	for (i = 0; i < ARRAY_LEN(rs_cli_entries); i++) {
		n += __atomic_load_n(&rs_cli_entries[i].inuse, __ATOMIC_SEQ_CST);
	}
	return n;
}

/* ---- logging ---- */
void rs_shim_log(int level, const char *file, int line, const char *func, const char *msg)
{
	ast_log(level, file, line, func, "%s", msg);
}

/* ast_verb and ast_debug with the Rust caller's file and line. */
void rs_shim_verb(int level, const char *file, int line, const char *func, const char *msg)
{
	if (VERBOSITY_ATLEAST(level)) {
		__ast_verbose(file, line, func, level, "%s", msg);
	}
}

void rs_shim_verbose(const char *msg)
{
	ast_verbose("%s", msg);
}

void rs_shim_debug(int level, const char *file, int line, const char *func, const char *msg)
{
	if (DEBUG_ATLEAST(level)) {
		ast_log(__LOG_DEBUG, file, line, func, "%s", msg);
	}
}

int rs_shim_debug_enabled(int level)
{
	return DEBUG_ATLEAST(level);
}

/* ---- manager and CLI output ---- */
void rs_shim_manager_event(int category, const char *event, const char *body)
{
	manager_event(category, event, "%s", body);
}

void rs_shim_cli_print(int fd, const char *text)
{
	ast_cli(fd, "%s", text);
}

/* ---- events on the channel's topic ----
 * Stock res_agi publishes its events on the channel's stasis topic, so AMI delivers them in
 * order with the channel's other events (Newexten, VarSet, Hangup...). We do the same with
 * one message type whose data is the event already formatted (name + headers): no JSON.
 * The manager's router thread turns each into its AMI event through to_ami.
 *
 * Unload: stasis may still hold our messages (the router's queue). Before the code goes,
 * rs_shim_events_cleanup() sends a barrier through the manager topic and waits until every
 * subscriber has dropped it: the manager router formats messages in order, so every message
 * published before the barrier has been formatted, and the thread that handled the barrier
 * has left our code (it drops the message in core code, after to_ami returned). Nothing of
 * ours signals the unloading thread: a signal sent from here would leave the router thread
 * returning through code that dlclose() may already have unmapped. The vtable is on the heap
 * and stays there (a few bytes per load): a message kept by another subscriber can still
 * read it safely after unload, and finds no to_ami to call. */
struct rs_event {
	int barrier;
	/* Records "name\0body\0", one per AMI event, in order; len bytes in all. */
	size_t len;
	char text[];
};

static struct stasis_message_vtable *rs_event_vtable;
static struct stasis_message_type *rs_event_type;
/* RES_AGI_RS_FAILPOINTS=1 at load (src/failpoint.rs): an AGIExecStart whose command ends with
 * "_TEST HOLD ROUTER" holds the manager's router in to_ami for 10 s (tests/hardening.rs). */
static int rs_failpoints;

/* Sends every event of the records, in order, as manager_event does. */
static void rs_event_send_records(const char *text, size_t len)
{
	const char *p = text;
	const char *end = text + len;

	while (p < end) {
		const char *name = p;
		const char *body = name + strlen(name) + 1;

		if (body >= end) {
			break;
		}
		if (rs_failpoints && !strcmp(name, "AGIExecStart") && strstr(body, "_TEST HOLD ROUTER\r\n")) {
			int i;

			for (i = 0; i < 10000; i++) {
				usleep(1000);
			}
		}
		manager_event(EVENT_FLAG_AGI, name, "%s", body);
		p = body + strlen(body) + 1;
	}
}

/* The manager's router (manager_default_msg_cb) calls this on its thread, in the order the
 * messages were published, and would send the one event it returns. One message of ours may
 * carry several events (a command's AGIExecStart, AGIExecEnd and AsyncAGIExec when nothing
 * else of the channel can come between them): they are sent here, on that same thread and in
 * that same place of the order, through manager_event, and nothing is returned (the router
 * then sends nothing more). This also spares the ast_manager_event_blob each event would
 * cost. Asterisk's only caller of to_ami for a type like ours is that router. */
static struct ast_manager_event_blob *rs_event_to_ami(struct stasis_message *msg)
{
	struct rs_event *ev = stasis_message_data(msg);

	if (!ev->barrier) {
		rs_event_send_records(ev->text, ev->len);
	}
	return NULL;
}

int rs_shim_events_init(void)
{
	const char *failpoints = getenv("RES_AGI_RS_FAILPOINTS");

	rs_failpoints = failpoints && !strcmp(failpoints, "1");
	rs_event_vtable = ast_calloc(1, sizeof(*rs_event_vtable));
	if (!rs_event_vtable) {
		return -1;
	}
	rs_event_vtable->to_ami = rs_event_to_ami;
	switch (stasis_message_type_create("agi_rs_event_type", rs_event_vtable, &rs_event_type)) {
	case STASIS_MESSAGE_TYPE_SUCCESS:
		return 0;
	case STASIS_MESSAGE_TYPE_DECLINED:
		/* stasis.conf declines it: events go out directly (rs_shim_event_publish). */
		rs_event_type = NULL;
		return 0;
	default:
		rs_event_type = NULL;
		return -1;
	}
}

static struct rs_event *rs_event_new(int barrier, const char *text, size_t len)
{
	struct rs_event *ev;

	ev = ao2_alloc_options(sizeof(*ev) + len, NULL, AO2_ALLOC_OPT_LOCK_NOLOCK);
	if (!ev) {
		return NULL;
	}
	ev->barrier = barrier;
	ev->len = len;
	memcpy(ev->text, text, len);
	return ev;
}

/* Publishes the AGI events of `records` ("name\0body\0" each, len bytes, the last byte a
 * NUL) as one message on chan's topic; with chan NULL (the channel is being destroyed) on the
 * manager topic, which the channel topics forward to: they still come after every event the
 * channel published before. */
void rs_shim_event_publish(struct ast_channel *chan, const char *records, size_t len)
{
	struct rs_event *ev;
	struct stasis_message *msg;

	if (!len || records[len - 1] != '\0') {
		return;
	}
	if (!rs_event_type) {
		rs_event_send_records(records, len);
		return;
	}
	ev = rs_event_new(0, records, len);
	if (!ev) {
		return;
	}
	msg = stasis_message_create(rs_event_type, ev);
	ao2_ref(ev, -1);
	if (!msg) {
		return;
	}
	stasis_publish(chan ? ast_channel_topic(chan) : ast_manager_get_topic(), msg);
	ao2_ref(msg, -1);
}

/* Returns 0 when every subscriber of the manager topic dropped the barrier within
 * timeout_ms: then nothing will call to_ami any more, and the type is released. Returns -1
 * otherwise (the barrier could not be sent, or a subscriber still holds it: the router may be
 * inside to_ami), leaving the type and to_ami as they were: the module must stay loaded. */
int rs_shim_events_cleanup(int timeout_ms)
{
	if (rs_event_type) {
		struct rs_event *ev = rs_event_new(1, "", 0);
		struct stasis_message *msg = ev ? stasis_message_create(rs_event_type, ev) : NULL;
		struct timeval start = ast_tvnow();
		int drained;

		if (!msg) {
			ao2_cleanup(ev);
			return -1;
		}
		stasis_publish(ast_manager_get_topic(), msg);
		ao2_ref(msg, -1);
		/* Our reference is the only one left once the message is gone. */
		while (ao2_ref(ev, 0) > 1 && ast_tvdiff_ms(ast_tvnow(), start) < timeout_ms) {
			usleep(1000);
		}
		drained = ao2_ref(ev, 0) <= 1;
		ao2_ref(ev, -1);
		if (!drained) {
			return -1;
		}
		rs_event_vtable->to_ami = NULL;
		ao2_cleanup(rs_event_type);
		rs_event_type = NULL;
	}
	/* rs_event_vtable is left allocated on purpose (see above). */
	rs_event_vtable = NULL;
	return 0;
}

/* ---- AGI scripts: fork/exec as stock's launch_script ----
 * What runs in the child after fork must be C (only async-signal-safe work is sound there in
 * a threaded process; this mirrors stock). Pipes are made close-on-exec so that no other
 * child Asterisk forks meanwhile keeps them open; the child puts them on 0, 1 and 3 without
 * the flag, whatever numbers pipe2 returned (child_fds.h). */
const char *rs_shim_agi_dir(void)
{
	return ast_config_AST_AGI_DIR;
}

/* Returns the child's pid, or -1. fds[0]: read the child's stdout; fds[1]: write its stdin.
 * With audio non-NULL (EAGI), *audio is the (non-blocking) write end of its fd 3. The caller
 * must call rs_shim_safe_fork_cleanup() afterwards, whatever this returned, once *forked is 1. */
int rs_shim_launch_script(const char *script, char *const argv[], int fds[2], int *audio, int *forked)
{
	int pid, toast[2], fromast[2], audio_p[2] = { -1, -1 };

	*forked = 0;
	if (pipe2(toast, O_CLOEXEC)) {
		ast_log(LOG_WARNING, "Unable to create toast pipe: %s\n", strerror(errno));
		return -1;
	}
	if (pipe2(fromast, O_CLOEXEC)) {
		ast_log(LOG_WARNING, "unable to create fromast pipe: %s\n", strerror(errno));
		close(toast[0]);
		close(toast[1]);
		return -1;
	}
	if (audio) {
		if (pipe2(audio_p, O_CLOEXEC) || ast_fd_set_flags(audio_p[1], O_NONBLOCK) < 0) {
			ast_log(LOG_WARNING, "unable to create audio pipe: %s\n", strerror(errno));
			close(fromast[0]);
			close(fromast[1]);
			close(toast[0]);
			close(toast[1]);
			if (audio_p[0] > -1) {
				close(audio_p[0]);
				close(audio_p[1]);
			}
			return -1;
		}
	}
	*forked = 1;
	if ((pid = ast_safe_fork(1)) < 0) {
		ast_log(LOG_WARNING, "Failed to fork(): %s\n", strerror(errno));
		close(fromast[0]);
		close(fromast[1]);
		close(toast[0]);
		close(toast[1]);
		if (audio) {
			close(audio_p[0]);
			close(audio_p[1]);
		}
		return -1;
	}
	if (!pid) {
		setenv("AST_CONFIG_DIR", ast_config_AST_CONFIG_DIR, 1);
		setenv("AST_CONFIG_FILE", ast_config_AST_CONFIG_FILE, 1);
		setenv("AST_MODULE_DIR", ast_config_AST_MODULE_DIR, 1);
		setenv("AST_SPOOL_DIR", ast_config_AST_SPOOL_DIR, 1);
		setenv("AST_MONITOR_DIR", ast_config_AST_MONITOR_DIR, 1);
		setenv("AST_VAR_DIR", ast_config_AST_VAR_DIR, 1);
		setenv("AST_DATA_DIR", ast_config_AST_DATA_DIR, 1);
		setenv("AST_LOG_DIR", ast_config_AST_LOG_DIR, 1);
		setenv("AST_AGI_DIR", ast_config_AST_AGI_DIR, 1);
		setenv("AST_KEY_DIR", ast_config_AST_KEY_DIR, 1);
		setenv("AST_RUN_DIR", ast_config_AST_RUN_DIR, 1);
		/* Don't run AGI scripts with realtime priority -- it causes audio stutter */
		ast_set_priority(0);
		/* stdin, stdout and EAGI's fd 3 (or no fd 3), none close-on-exec (child_fds.h). */
		if (rs_child_fds(fromast[0], toast[1], audio ? audio_p[0] : -1) < 0) {
			ast_child_verbose(1, "Failed to set up the descriptors of '%s': %s", script, strerror(errno));
			_exit(1);
		}
		ast_close_fds_above_n(STDERR_FILENO + 1);
		execv(script, argv);
		ast_child_verbose(1, "Failed to execute '%s': %s", script, strerror(errno));
		fprintf(stdout, "failure\n");
		fflush(stdout);
		_exit(1);
	}
	ast_verb(3, "Launched AGI Script %s\n", script);
	fds[0] = toast[0];
	fds[1] = fromast[1];
	close(toast[1]);
	close(fromast[0]);
	if (audio) {
		*audio = audio_p[1];
		close(audio_p[0]);
	}
	return pid;
}

void rs_shim_safe_fork_cleanup(void)
{
	ast_safe_fork_cleanup();
}

/* ---- threads ---- */
/* A joinable thread started the Asterisk way (it shows in "core show threads"). */
int rs_shim_thread_start(pthread_t *thread, void *(*start)(void *), void *arg)
{
	return ast_pthread_create(thread, NULL, start, arg);
}

/* ---- objects ---- */
struct ast_datastore *rs_shim_datastore_alloc(void *data)
{
	struct ast_datastore *ds = ast_datastore_alloc(&rs_agi_datastore_info, NULL);
	if (ds) {
		ds->data = data;
	}
	return ds;
}

const struct ast_datastore_info *rs_shim_datastore_info(void)
{
	return &rs_agi_datastore_info;
}

void rs_shim_channel_lock(struct ast_channel *chan)
{
	ast_channel_lock(chan);
}

void rs_shim_channel_unlock(struct ast_channel *chan)
{
	ast_channel_unlock(chan);
}

struct ast_channel *rs_shim_channel_ref(struct ast_channel *chan)
{
	return ast_channel_ref(chan);
}

void rs_shim_channel_unref(struct ast_channel *chan)
{
	ast_channel_unref(chan);
}

void rs_shim_ao2_cleanup(void *obj)
{
	ao2_cleanup(obj);
}

/* A capability set holding signed linear only (what AGI's SPEECH CREATE asks for). */
struct ast_format_cap *rs_shim_cap_slin(void)
{
	struct ast_format_cap *cap = ast_format_cap_alloc(AST_FORMAT_CAP_FLAG_DEFAULT);
	if (cap) {
		ast_format_cap_append(cap, ast_format_slin, 0);
	}
	return cap;
}

void rs_shim_speech_lock(struct ast_speech *speech)
{
	ast_mutex_lock(&speech->lock);
}

void rs_shim_speech_unlock(struct ast_speech *speech)
{
	ast_mutex_unlock(&speech->lock);
}

void *rs_shim_ao2_bump(void *obj)
{
	return ao2_bump(obj);
}

int rs_shim_opt_transmit_silence(void)
{
	return ast_opt_transmit_silence;
}

void rs_shim_frfree(struct ast_frame *f)
{
	ast_frfree(f);
}

struct ast_str *rs_shim_str_create(size_t len)
{
	return ast_str_create(len);
}

const char *rs_shim_str_buffer(const struct ast_str *s)
{
	return ast_str_buffer(s);
}

size_t rs_shim_str_strlen(const struct ast_str *s)
{
	return ast_str_strlen(s);
}

void rs_shim_free(void *p)
{
	ast_free(p);
}

struct ast_module *rs_shim_self(void)
{
	return AST_MODULE_SELF;
}

/* ---- the module ---- */
static int load_module(void)
{
	return rs_agi_load();
}

static int unload_module(void)
{
	return rs_agi_unload();
}

static int reload_module(void)
{
	return rs_agi_reload();
}

AST_MODULE_INFO(ASTERISK_GPL_KEY, AST_MODFLAG_GLOBAL_SYMBOLS | AST_MODFLAG_LOAD_ORDER,
	"Asterisk Gateway Interface (AGI), Async AGI in Rust",
	.support_level = AST_MODULE_SUPPORT_CORE,
	.load = load_module,
	.unload = unload_module,
	.reload = reload_module,
	.load_pri = AST_MODPRI_APP_DEPEND,
	.requires = "res_speech",
);

/* ---- What this Asterisk is (src/host.rs) ----
 * Whether the core's XML documentation answers the XPath query (e.g. an application named
 * DeadAGI). ast_xmldoc_query, unlike the build_* lookups, logs nothing when there is none. */
int rs_shim_xmldoc_has(const char *xpath)
{
#ifdef RS_XML_DOCS
	struct ast_xml_xpath_results *results = ast_xmldoc_query("%s", xpath);
	int found = results && ast_xml_xpath_num_results(results) > 0;

	if (results) {
		ast_xml_xpath_results_free(results);
	}
	return found;
#else
	/* An Asterisk configured with --disable-xmldoc has no documentation to ask: none found,
	 * and src/host.rs falls back to the release. */
	return 0;
#endif
}

/* ---- Asterisk's test framework: /res/agi_rs/ ----
 * One Asterisk test per entry of src/selftest.rs's TESTS (same order); each calls
 * rs_agi_selftest(index), which runs the module's own code and writes what failed.
 * Asterisk declares its test API only when it was built with TEST_FRAMEWORK (dev mode, or
 * Debian's package); a default configure has none, and then neither have we (build.rs reads
 * the same buildopts.h and leaves src/selftest.rs out). */
#ifdef RS_TEST_FRAMEWORK
extern int rs_agi_selftest(int which, char *msg, size_t len);
extern const char *rs_agi_selftest_name(int which);
extern const char *rs_agi_selftest_summary(int which);

static enum ast_test_result_state rs_selftest(int which, struct ast_test_info *info, enum ast_test_command cmd, struct ast_test *test)
{
	char msg[2048] = "";

	switch (cmd) {
	case TEST_INIT:
		info->name = rs_agi_selftest_name(which);
		info->category = "/res/agi_rs/";
		info->summary = rs_agi_selftest_summary(which);
		info->description = rs_agi_selftest_summary(which);
		return AST_TEST_NOT_RUN;
	case TEST_EXECUTE:
		break;
	}
	if (rs_agi_selftest(which, msg, sizeof(msg))) {
		ast_test_status_update(test, "%s\n", msg);
		return AST_TEST_FAIL;
	}
	return AST_TEST_PASS;
}

#define RS_SELFTEST(n) \
	static enum ast_test_result_state rs_selftest_##n(struct ast_test_info *info, enum ast_test_command cmd, struct ast_test *test) \
	{ \
		return rs_selftest(n, info, cmd, test); \
	}
RS_SELFTEST(0)
RS_SELFTEST(1)
RS_SELFTEST(2)
RS_SELFTEST(3)
RS_SELFTEST(4)

static ast_test_cb_t *rs_selftests[] = { rs_selftest_0, rs_selftest_1, rs_selftest_2, rs_selftest_3, rs_selftest_4 };

int rs_shim_selftest_count(void)
{
	return ARRAY_LEN(rs_selftests);
}

int rs_shim_register_selftest(int i)
{
	return ast_test_register(rs_selftests[i]);
}

int rs_shim_unregister_selftest(int i)
{
	return ast_test_unregister(rs_selftests[i]);
}
#endif /* RS_TEST_FRAMEWORK */
