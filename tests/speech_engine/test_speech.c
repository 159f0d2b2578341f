/*
 * test_speech.so: a speech engine for the tests only (engine name "test"), so that the
 * SPEECH AGI commands can be compared between stock res_agi and res_agi_rs on a real
 * Asterisk. Grammars named or pathed "bad" fail; "SPEECH SET mode done" makes the next
 * recognition end at once with two fixed results; otherwise recognition waits (for DTMF,
 * the timeout or hangup). Built by `make test`, loaded by the sandbox when present.
 */
#include "asterisk.h"

#include "asterisk/module.h"
#include "asterisk/speech.h"
#include "asterisk/format.h"
#include "asterisk/format_cap.h"
#include "asterisk/format_cache.h"
#include "asterisk/utils.h"

static int t_create(struct ast_speech *speech, struct ast_format *format)
{
	speech->data = NULL;
	return 0;
}

static int t_destroy(struct ast_speech *speech)
{
	return 0;
}

static int t_load(struct ast_speech *speech, const char *name, const char *grammar)
{
	return strcmp(grammar, "bad") ? 0 : -1;
}

static int t_named(struct ast_speech *speech, const char *name)
{
	return strcmp(name, "bad") ? 0 : -1;
}

static int t_write(struct ast_speech *speech, void *data, int len)
{
	return 0;
}

static int t_start(struct ast_speech *speech)
{
	ast_speech_change_state(speech, speech->data ? AST_SPEECH_STATE_DONE : AST_SPEECH_STATE_READY);
	return 0;
}

static int t_change(struct ast_speech *speech, const char *name, const char *value)
{
	if (!strcmp(name, "mode")) {
		speech->data = !strcmp(value, "done") ? (void *) 1 : NULL;
	}
	return 0;
}

static struct ast_speech_result *result(const char *text, int score, struct ast_speech_result *next)
{
	struct ast_speech_result *r = ast_calloc(1, sizeof(*r));
	if (!r) {
		return next;
	}
	r->text = ast_strdup(text);
	r->score = score;
	r->grammar = ast_strdup("yesno");
	AST_LIST_NEXT(r, list) = next;
	return r;
}

static struct ast_speech_result *t_get(struct ast_speech *speech)
{
	return result("hello world", 900, result("hello", 500, NULL));
}

static struct ast_speech_engine engine = {
	.name = "test",
	.create = t_create,
	.destroy = t_destroy,
	.load = t_load,
	.unload = t_named,
	.activate = t_named,
	.deactivate = t_named,
	.write = t_write,
	.start = t_start,
	.change = t_change,
	.get = t_get,
};

static int load_module(void)
{
	if (!(engine.formats = ast_format_cap_alloc(AST_FORMAT_CAP_FLAG_DEFAULT))) {
		return AST_MODULE_LOAD_DECLINE;
	}
	ast_format_cap_append(engine.formats, ast_format_slin, 0);
	if (ast_speech_register(&engine)) {
		ao2_ref(engine.formats, -1);
		return AST_MODULE_LOAD_DECLINE;
	}
	return AST_MODULE_LOAD_SUCCESS;
}

static int unload_module(void)
{
	ast_speech_unregister("test");
	ao2_cleanup(engine.formats);
	return 0;
}

AST_MODULE_INFO(ASTERISK_GPL_KEY, AST_MODFLAG_DEFAULT, "Test speech engine (res_agi_rs tests)",
	.support_level = AST_MODULE_SUPPORT_EXTENDED,
	.load = load_module,
	.unload = unload_module,
	.requires = "res_speech",
);
