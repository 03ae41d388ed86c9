/*
 * family.c - the model family that names the agents (SCENARIOS.md 1).
 *
 * "openai/gpt-4.1" -> ChatGPT, "together/moonshotai/Kimi-K2" -> Kimi.
 * Provider prefixes (ours, and upstream ones such as gemini/ or
 * vertex_ai/) are skipped by trying the id after each '/'. Only the
 * families SCENARIOS.md names are automatic: any other model (Llama,
 * Qwen...) takes --family, since "Llama Agent 1" is already a peer of
 * the cross-model arm and must not silently become the agent's name.
 */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include <peerpres/scenario.h>

struct family_rule {
	const char *prefix;   /* case-insensitive */
	const char *family;
};

static const struct family_rule rules[] = {
	{ "gpt-", "ChatGPT" }, { "gpt", "ChatGPT" }, { "chatgpt", "ChatGPT" },
	{ "gemini-", "Gemini" }, { "gemini", "Gemini" },
	{ "claude-", "Claude" }, { "claude", "Claude" },
	{ "glm-", "GLM" }, { "zai-org/", "GLM" },
	{ "deepseek", "DeepSeek" },
	{ "kimi", "Kimi" }, { "moonshotai/", "Kimi" },
};

/*
 * OpenAI's reasoning series (o1, o3, o3-mini, o4-mini) has no word
 * prefix: "o" and one digit, then the end of the id or a '-'. Anything
 * longer ("o3x", "ollama") is not it.
 */
static bool is_openai_o_series(const char *id)
{
	return (id[0] == 'o' || id[0] == 'O') && isdigit((unsigned char)id[1]) &&
	       (id[2] == '\0' || id[2] == '-');
}

static const char *match(const char *id)
{
	size_t i;

	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (!strncasecmp(id, rules[i].prefix, strlen(rules[i].prefix)))
			return rules[i].family;
	return is_openai_o_series(id) ? "ChatGPT" : NULL;
}

const char *pp_family_of_model(const char *model)
{
	const char *p = model, *f;

	if (!model)
		return NULL;
	if (!strncmp(model, "ref/", 4))
		return "Reference";
	for (;;) {
		if ((f = match(p)))
			return f;
		p = strchr(p, '/');
		if (!p)
			return NULL;
		p++;
	}
}

/*
 * The closed-weight peer of the cross-model arm (SCENARIOS.md 5): Claude
 * for a Gemini agent, Gemini for a Claude agent, Claude for a ChatGPT
 * agent, ChatGPT for every other family. A fact about families, like the
 * rules above; which subject uses it is the scenario's business.
 */
const char *pp_closed_peer_family(const char *family)
{
	static const struct { const char *agent, *peer; } pairs[] = {
		{ "Gemini", "Claude" }, { "Claude", "Gemini" }, { "ChatGPT", "Claude" },
	};
	size_t i;

	for (i = 0; family && i < sizeof(pairs) / sizeof(pairs[0]); i++)
		if (!strcmp(family, pairs[i].agent))
			return pairs[i].peer;
	return "ChatGPT";
}
