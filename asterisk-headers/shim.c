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

/* We provide res_agi's public API (app_stack's GOSUB registers through it): with
 * AST_API_MODULE defined, agi.h's AST_OPTIONAL_API declarations make this object provide
 * the functions below to other modules (Debian's Asterisk is built with OPTIONAL_API). */
#define AST_API_MODULE
#include "asterisk/agi.h"

/* ---- implemented in Rust (src/entry.rs); each runs behind the panic guard ---- */
extern int rs_agi_load(void);
extern int rs_agi_unload(void);
extern int rs_agi_app_exec(struct ast_channel *chan, const char *data);
extern int rs_agi_manager_action(struct mansession *s, const struct message *m);
extern char *rs_agi_cli_exec(struct ast_cli_entry *e, int cmd, struct ast_cli_args *a);
extern char *rs_agi_cli_debug(struct ast_cli_entry *e, int cmd, struct ast_cli_args *a);
extern char *rs_agi_cli_show(struct ast_cli_entry *e, int cmd, struct ast_cli_args *a);
extern char *rs_agi_cli_dump_html(struct ast_cli_entry *e, int cmd, struct ast_cli_args *a);
extern void rs_agi_datastore_destroy(void *data);

/* The per-channel Async AGI queue lives in a channel datastore of this type. */
static const struct ast_datastore_info rs_agi_datastore_info = {
	.type = "AsyncAGI",
	.destroy = rs_agi_datastore_destroy,
};

static struct ast_cli_entry rs_cli_entries[] = {
	AST_CLI_DEFINE(rs_agi_cli_exec, "Add AGI command to a channel in Async AGI"),
	AST_CLI_DEFINE(rs_agi_cli_debug, "Enable/Disable AGI debugging"),
	AST_CLI_DEFINE(rs_agi_cli_show, "List AGI commands or specific help"),
	AST_CLI_DEFINE(rs_agi_cli_dump_html, "Dumps a list of AGI commands in HTML format"),
};

extern int rs_agi_register(struct ast_module *mod, agi_command *cmd);
extern int rs_agi_unregister(agi_command *cmd);
extern int rs_agi_register_multiple(struct ast_module *mod, struct agi_command *cmd, unsigned int len);
extern int rs_agi_unregister_multiple(struct agi_command *cmd, unsigned int len);

/* ---- res_agi's public API: forwards to Rust (src/registry.rs) ---- */
int AST_OPTIONAL_API_NAME(ast_agi_register)(struct ast_module *mod, agi_command *cmd)
{
	return rs_agi_register(mod, cmd);
}

int AST_OPTIONAL_API_NAME(ast_agi_unregister)(agi_command *cmd)
{
	return rs_agi_unregister(cmd);
}

int AST_OPTIONAL_API_NAME(ast_agi_register_multiple)(struct ast_module *mod, struct agi_command *cmd, unsigned int len)
{
	return rs_agi_register_multiple(mod, cmd, len);
}

int AST_OPTIONAL_API_NAME(ast_agi_unregister_multiple)(struct agi_command *cmd, unsigned int len)
{
	return rs_agi_unregister_multiple(cmd, len);
}

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

int AST_OPTIONAL_API_NAME(ast_agi_send)(int fd, struct ast_channel *chan, char *fmt, ...)
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
int rs_shim_register_app(const char *name)
{
	return ast_register_application_xml(name, rs_agi_app_exec);
}

int rs_shim_register_manager(const char *action, int authority)
{
	return ast_manager_register_xml(action, authority, rs_agi_manager_action);
}

int rs_shim_register_cli(void)
{
	return ast_cli_register_multiple(rs_cli_entries, ARRAY_LEN(rs_cli_entries));
}

int rs_shim_unregister_cli(void)
{
	return ast_cli_unregister_multiple(rs_cli_entries, ARRAY_LEN(rs_cli_entries));
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

AST_MODULE_INFO(ASTERISK_GPL_KEY, AST_MODFLAG_GLOBAL_SYMBOLS | AST_MODFLAG_LOAD_ORDER,
	"Asterisk Gateway Interface (AGI), Async AGI in Rust",
	.support_level = AST_MODULE_SUPPORT_CORE,
	.load = load_module,
	.unload = unload_module,
	.load_pri = AST_MODPRI_APP_DEPEND,
	.requires = "res_speech",
);
