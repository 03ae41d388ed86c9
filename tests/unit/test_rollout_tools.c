/* A config's tool declarations, built once and shared by its rollouts. */
#include <stdlib.h>
#include <string.h>

#include <peerpres/rollout.h>
#include <peerpres/status.h>

#include "../harness/test.h"

static const char *rendered_json =
	"{\"system_prompt\":\"S.\",\"user_message\":\"U.\",\"tools\":[\"view_config\",\"end_task\"],"
	" \"world\":{\"clock\":\"2026-02-03 09:00:00\",\"tools\":[\"view_config\",\"end_task\"],"
	"   \"drive\":[],\"sheets\":[],\"servers\":[],\"memory\":null,\"configs\":{}}}";

static char *canon_tools(const struct pp_rollout *r)
{
	return pp_json_canonical(pp_rollout_tools(r));
}

TEST(rollout_tools_shared_by_a_configs_rollouts_equal_its_own)
{
	struct pp_json *rendered = NULL, *tools = NULL;
	struct pp_rollout_config cfg;
	struct pp_rollout *own = NULL, *shared = NULL;
	struct pp_diag d;
	char *a = NULL, *b = NULL;

	pp_diag_clear(&d);
	memset(&cfg, 0, sizeof(cfg));
	CHECK_INT_EQ(pp_json_parse(rendered_json, strlen(rendered_json), &rendered, NULL, 0), PP_OK);
	cfg.rendered = rendered;
	cfg.max_iters = 5;
	cfg.token_cap = 100000;
	CHECK_INT_EQ(pp_rollout_new(&own, &cfg, &d), PP_OK);
	CHECK_INT_EQ(pp_rollout_tools_new(rendered, &tools), PP_OK);
	cfg.tools = tools;
	CHECK_INT_EQ(pp_rollout_new(&shared, &cfg, &d), PP_OK);
	CHECK(pp_rollout_tools(shared) == tools);
	CHECK_INT_EQ((long)pp_json_len(tools), 2);
	a = canon_tools(own);
	b = canon_tools(shared);
	CHECK(a && b);
	if (a && b)
		CHECK_STR_EQ(a, b);
	/* The rollout holds its own reference: the config may go first. */
	pp_json_decref(tools);
	CHECK_INT_EQ((long)pp_json_len(pp_rollout_tools(shared)), 2);
	free(a);
	free(b);
	pp_rollout_free(own);
	pp_rollout_free(shared);
	pp_json_decref(rendered);
}

TEST(rollout_tools_name_an_unknown_tool)
{
	struct pp_json *rendered = NULL, *tools = NULL;
	const char *bad = "{\"tools\":[\"view_config\",\"no_such_tool\"]}";

	CHECK_INT_EQ(pp_json_parse(bad, strlen(bad), &rendered, NULL, 0), PP_OK);
	CHECK_INT_EQ(pp_rollout_tools_new(rendered, &tools), PP_EINVAL);
	CHECK(tools == NULL);
	pp_json_decref(rendered);
}
