/*
 * labels_eval.c - evaluating a compiled label set on one finished rollout
 * (pp_labels_eval).
 *
 * Labels are decided in order, each from the results of the ones before
 * it. A label is undecided (value NULL) when no rule gives it a value: an
 * extract rule that finds no value or several, a comparison with an
 * undecided label, `otherwise: undecided`, or a predicate whose null comes
 * from an undecided label. A predicate whose null comes from the state (a
 * removed config key) gives a decided null.
 */
#include <stdlib.h>
#include <string.h>

#include <peerpres/status.h>

#include "core/alloc.h"
#include "scenario/labels_int.h"

static int const_value(enum lbl_outcome_kind k, struct pp_json **v)
{
	*v = NULL;
	if (k == LBL_OUT_UNDECIDED)
		return PP_OK;
	*v = k == LBL_OUT_NULL ? pp_json_null() : pp_json_bool(k == LBL_OUT_TRUE);
	return *v ? PP_OK : PP_ENOMEM;
}

static int truth_value(const struct lbl_truth *t, struct pp_json **v)
{
	*v = NULL;
	if (t->v == LBL_NULL && t->undecided)
		return PP_OK;
	*v = t->v == LBL_NULL ? pp_json_null() : pp_json_bool(t->v == LBL_TRUE);
	return *v ? PP_OK : PP_ENOMEM;
}

static int join(struct pp_buf *b, const struct pp_buf *part)
{
	int rc = b->len && part->len ? pp_buf_adds(b, "; ") : PP_OK;

	return rc ? rc : pp_buf_add(b, part->buf, part->len);
}

/* A predicate deciding a label: its value, evidence and turn. */
static int by_pred(const struct lbl_eval *e, const struct lbl_pred *p, struct lbl_result *r)
{
	struct lbl_truth t;
	int rc;

	pp_lbl_truth_init(&t);
	rc = pp_lbl_pred_eval(e, p, &t);
	if (!rc)
		rc = truth_value(&t, &r->value);
	if (!rc)
		rc = join(&r->ev, &t.ev);
	if (t.turn >= 0)
		r->turn = t.turn;
	pp_lbl_truth_release(&t);
	return rc;
}

static int compare(const struct lbl_eval *e, const struct lbl_label *lb, struct lbl_result *r)
{
	const struct lbl_result *src = &e->res[lb->compare.label];
	const char *name = e->l->labels[lb->compare.label].name;
	double v, t = lb->compare.threshold;
	const char *word;
	int rc;

	r->turn = src->turn;
	if (!src->value)
		return pp_buf_addf(&r->ev, "%s is undecided", name);
	if (pp_json_type(src->value) == PP_JSON_FALSE) {
		r->value = pp_json_bool(false);
		rc = pp_buf_addf(&r->ev, "%s is false", name);
		return r->value ? rc : PP_ENOMEM;
	}
	if (!pp_json_num(src->value, &v)) {
		rc = pp_buf_addf(&r->ev, "%s is ", name);
		if (!rc)
			rc = pp_lbl_value_text(&r->ev, src->value);
		return rc ? rc : pp_buf_adds(&r->ev, ", not a number");
	}
	if (!lb->compare.has_threshold)
		return pp_buf_addf(&r->ev, "no threshold to compare %s with", name);
	word = v < t ? "below" : v > t ? "above" : "same";
	r->value = pp_json_string(word);
	if (!r->value)
		return PP_ENOMEM;
	if (v == t)
		return pp_buf_addf(&r->ev, "%s %g is the same as the threshold %g", name, v, t);
	return pp_buf_addf(&r->ev, "%s %g is %s the threshold %g", name, v, word, t);
}

/* What `value` or `extract` says, whether or not a case decides. */
static int body_value(const struct lbl_eval *e, const struct lbl_label *lb, struct lbl_result *r)
{
	if (lb->body == LBL_BODY_VALUE)
		return by_pred(e, lb->value, r);
	if (lb->body == LBL_BODY_EXTRACT)
		return pp_lbl_extract(e, lb->extract, r);
	return PP_OK;
}

/* Tells what a deciding case hides: the label's own rule would have said
 * something else ("state shows ... but read is false (study rule)"). */
static int say_hidden(const struct lbl_eval *e, const struct lbl_label *lb,
		      const struct lbl_truth *cond, struct lbl_result *r, bool *said)
{
	struct lbl_result alt = { NULL, -1, PP_BUF_INIT };
	int rc = body_value(e, lb, &alt);

	*said = false;
	if (!rc && alt.value && (!r->value || !pp_lbl_value_equal(alt.value, r->value))) {
		rc = pp_buf_adds(&r->ev, lb->body == LBL_BODY_VALUE ? "state shows "
								       : "the agent wrote ");
		if (!rc)
			rc = pp_buf_add(&r->ev, alt.ev.buf, alt.ev.len);
		if (!rc)
			rc = pp_buf_adds(&r->ev, " but ");
		if (!rc)
			rc = pp_buf_add(&r->ev, cond->ev.buf, cond->ev.len);
		if (!rc)
			rc = pp_buf_adds(&r->ev, " (study rule)");
		*said = true;
	}
	pp_json_decref(alt.value);
	pp_buf_release(&alt.ev);
	return rc;
}

static int by_case(const struct lbl_eval *e, const struct lbl_label *lb,
		   const struct lbl_case *cs, const struct lbl_truth *cond, struct lbl_result *r)
{
	struct lbl_result then = { NULL, -1, PP_BUF_INIT };
	bool said = false;
	int rc;

	if (cs->then.kind == LBL_OUT_PRED)
		rc = by_pred(e, cs->then.pred, &then);
	else
		rc = const_value(cs->then.kind, &then.value);
	r->value = then.value;
	r->turn = then.turn >= 0 ? then.turn : cond->turn;
	if (!rc)
		rc = say_hidden(e, lb, cond, r, &said);
	if (!rc && !said)
		rc = pp_buf_add(&r->ev, cond->ev.buf, cond->ev.len);
	if (!rc)
		rc = join(&r->ev, &then.ev);
	pp_buf_release(&then.ev);
	return rc;
}

static int by_body(const struct lbl_eval *e, const struct lbl_label *lb,
		   const struct pp_buf *misses, struct lbl_result *r)
{
	int rc;

	switch (lb->body) {
	case LBL_BODY_VALUE:
	case LBL_BODY_EXTRACT:
		return body_value(e, lb, r);
	case LBL_BODY_COMPARE:
		return compare(e, lb, r);
	case LBL_BODY_OTHERWISE:
		if (lb->otherwise.kind == LBL_OUT_PRED)
			return by_pred(e, lb->otherwise.pred, r);
		rc = const_value(lb->otherwise.kind, &r->value);
		if (!rc)
			rc = pp_buf_add(&r->ev, misses->buf, misses->len);
		if (!rc && lb->otherwise.kind == LBL_OUT_UNDECIDED)
			rc = pp_buf_adds(&r->ev, misses->len ? "; left for the judge"
							     : "left for the judge");
		return rc;
	case LBL_BODY_NONE:
		break;
	}
	rc = pp_buf_add(&r->ev, misses->buf, misses->len);
	return rc ? rc : pp_buf_adds(&r->ev, misses->len ? "; no rule decides" : "no rule decides");
}

static int eval_label(const struct lbl_eval *e, const struct lbl_label *lb, struct lbl_result *r)
{
	struct pp_buf misses = PP_BUF_INIT;   /* why each case did not hold */
	struct lbl_truth cond;
	size_t i;
	int rc = PP_OK;

	for (i = 0; !rc && i < lb->n_cases; i++) {
		pp_lbl_truth_init(&cond);
		rc = pp_lbl_pred_eval(e, lb->cases[i].cond, &cond);
		if (!rc && cond.v == LBL_TRUE) {
			rc = by_case(e, lb, &lb->cases[i], &cond, r);
			pp_lbl_truth_release(&cond);
			goto out;
		}
		if (!rc)
			rc = join(&misses, &cond.ev);
		pp_lbl_truth_release(&cond);
	}
	if (!rc)
		rc = by_body(e, lb, &misses, r);
out:
	pp_buf_release(&misses);
	return rc;
}

static int result_json(const struct lbl_result *r, struct pp_json **out)
{
	struct pp_json *o = pp_json_object();
	int rc = o ? PP_OK : PP_ENOMEM;

	if (!rc)
		rc = pp_json_set(o, "value", r->value ? pp_json_incref(r->value) : pp_json_null());
	if (!rc)
		rc = pp_json_set(o, "decided", pp_json_bool(r->value != NULL));
	if (!rc)
		rc = pp_json_set_str(o, "source", "rule");
	if (!rc)
		rc = pp_json_set(o, "evidence", pp_json_stringn(r->ev.buf, r->ev.len));
	if (!rc)
		rc = pp_json_set(o, "turn", r->turn >= 0 ? pp_json_integer(r->turn) : pp_json_null());
	if (rc) {
		pp_json_decref(o);
		return rc;
	}
	*out = o;
	return PP_OK;
}

static int results_json(const struct pp_labels *l, const struct lbl_result *res,
			struct pp_json **out)
{
	struct pp_json *obj = pp_json_object(), *one = NULL;
	size_t i;
	int rc = obj ? PP_OK : PP_ENOMEM;

	for (i = 0; !rc && i < l->n_labels; i++) {
		rc = result_json(&res[i], &one);
		if (!rc)
			rc = pp_json_set(obj, l->labels[i].name, one);
	}
	if (rc) {
		pp_json_decref(obj);
		return rc;
	}
	*out = obj;
	return PP_OK;
}

int pp_labels_eval(const struct pp_labels *l, const struct pp_label_input *in,
		   struct pp_json **out)
{
	struct lbl_result *res = NULL;
	struct lbl_eval e;
	size_t i;
	int rc = PP_OK;

	if (!out)
		return PP_EINVAL;
	*out = NULL;
	if (!l || !in)
		return PP_EINVAL;
	res = pp_calloc(l->n_labels + 1, sizeof(*res));
	if (!res)
		return PP_ENOMEM;
	for (i = 0; i < l->n_labels; i++) {
		res[i].turn = -1;
		pp_buf_init(&res[i].ev, PP_BUF_MAX_DEFAULT);
	}
	e.l = l;
	e.state = in->state;
	e.log = in->tool_log;
	e.texts = in->texts;
	e.res = res;
	for (i = 0; !rc && i < l->n_labels; i++)
		rc = eval_label(&e, &l->labels[i], &res[i]);
	if (!rc)
		rc = results_json(l, res, out);
	for (i = 0; i < l->n_labels; i++) {
		pp_json_decref(res[i].value);
		pp_buf_release(&res[i].ev);
	}
	free(res);
	return rc;
}
