/*
 * judge.c - the mock server answering as the reference judge, so a judge
 * named like a real one ("openai/gpt-4.1-mini" with --base-url at the
 * mock) runs its whole HTTP path offline.
 *
 * A judge request carries no X-Peerpres-* headers (it is no rollout of a
 * config); it is recognised by its fenced text instead. Whatever the
 * format, the one string of the body holding the fence is the question,
 * which is all the reference judge reads. The variant is the requested
 * model when it names one ("judge-garbage"), else the plain judge.
 */
#include <string.h>

#include <peerpres/judge.h>
#include <peerpres/status.h>

#include "judge/judge_int.h"
#include "mock/mock_int.h"

/* The first string in v (searched depth first) holding the fence. */
static const char *fenced_string(const struct pp_json *v)
{
	const char *s;
	void *it;
	size_t i;

	if (pp_json_is_string(v))
		return strstr(pp_json_str(v), "<<<" PP_JUDGE_FENCE) ? pp_json_str(v) : NULL;
	if (pp_json_is_array(v)) {
		for (i = 0; i < pp_json_len(v); i++)
			if ((s = fenced_string(pp_json_at(v, i))))
				return s;
		return NULL;
	}
	for (it = pp_json_iter(v); it; it = pp_json_iter_next(v, it))
		if ((s = fenced_string(pp_json_iter_value(it))))
			return s;
	return NULL;
}

static int messages_of(const char *question, struct pp_json **out)
{
	struct pp_json *list = pp_json_array(), *m = pp_json_object();

	if (!list || !m || pp_json_set_str(m, "role", "user") ||
	    pp_json_set_str(m, "content", question)) {
		pp_json_decref(m);
		pp_json_decref(list);
		return PP_ENOMEM;
	}
	if (pp_json_append(list, m)) {
		pp_json_decref(list);
		return PP_ENOMEM;
	}
	*out = list;
	return PP_OK;
}

int mock_judge_answer(enum mock_format f, const char *model, const struct pp_json *body,
		      struct mock_reply *r, bool *handled)
{
	const char *question = fenced_string(body);
	const char *name = model[0] ? model : pp_json_get_str(body, "model", "");
	const char *variant = pp_ref_judge_model(name);
	struct pp_model_request req;
	struct pp_model_reply reply;
	struct pp_json *messages = NULL;
	int rc;

	*handled = false;
	if (!question)
		return PP_OK;
	*handled = true;
	if ((rc = messages_of(question, &messages)))
		return rc;
	memset(&req, 0, sizeof(req));
	req.messages = messages;
	rc = pp_ref_judge_complete(variant ? variant : "judge", &req, &reply);
	if (rc == PP_EPROVIDER) {
		/* A failure not worth retrying, so a test sees it at once. */
		r->status = 400;
		pp_buf_reset(&r->body);
		rc = mock_wire_error(f, 400, reply.error, &r->body);
	} else if (!rc) {
		r->status = 200;
		rc = mock_wire_reply(f, name[0] ? name : "mock",
				     reply.message, (long)(strlen(question) / 4 + 1), 16, &r->body);
	}
	pp_json_decref(reply.message);
	pp_json_decref(messages);
	return rc;
}
