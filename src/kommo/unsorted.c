#include "kommo/kl_unsorted.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kommo/kl_reply.h"
#include "util/kl_str.h"

#define UNSORTED_PATH "/api/v4/leads/unsorted"
#define PAGE_LIMIT 250

static long long first_id(const cJSON *item, const char *key)
{
	const cJSON *emb = cJSON_GetObjectItemCaseSensitive(item, "_embedded");
	return kl_reply_key_id(cJSON_GetArrayItem(kl_reply_array(emb, key), 0), "id");
}

/* Counts an Incoming lead as a candidate for the hits it could answer, and
 * keeps the ids of the first. */
static void match(const cJSON *item, struct kl_unsorted_hit *hits, size_t n)
{
	const char *uid = kl_reply_str(item, "source_uid");
	const cJSON *at = cJSON_GetObjectItemCaseSensitive(item, "created_at");
	for (size_t i = 0; uid && i < n; i++) {
		struct kl_unsorted_hit *h = &hits[i];
		if (strcmp(h->source_uid, uid) != 0 ||
		    (h->created_at && !(cJSON_IsNumber(at) && at->valuedouble == (double)h->created_at)))
			continue;
		if (h->candidates++)
			continue; /* a second one: ambiguous, whatever its ids */
		/* created, even when its ids cannot be read (lead_id 0) */
		h->lead_id = first_id(item, "leads");
		h->contact_id = first_id(item, "contacts");
		char *kuid = kl_reply_text(cJSON_GetObjectItemCaseSensitive(item, "uid"));
		snprintf(h->uid, sizeof h->uid, "%s", kuid ? kuid : "");
		free(kuid);
	}
}

static char *page_path(long long pipeline_id, int page)
{
	/* Kommo's bracketed names, as its documentation writes them */
	if (pipeline_id > 0)
		return kl_str_printf(UNSORTED_PATH "?filter[category][]=forms&filter[pipeline_id]=%lld"
						   "&order[created_at]=desc&limit=%d&page=%d",
				     pipeline_id, PAGE_LIMIT, page);
	return kl_str_printf(UNSORTED_PATH "?filter[category][]=forms&order[created_at]=desc&limit=%d&page=%d",
			     PAGE_LIMIT, page);
}

/* Reads one page: *more whether to read the next. */
static int read_page(const cJSON *reply, long long since, struct kl_unsorted_hit *hits, size_t n, size_t *read,
		     bool *more, struct kl_err *err)
{
	const cJSON *list = kl_reply_array(cJSON_GetObjectItemCaseSensitive(reply, "_embedded"), "unsorted");
	const cJSON *item;
	if (!list)
		return kl_err_set(err, KL_EPROTOCOL, "Kommo's Incoming leads list has no _embedded.unsorted");
	*more = true;
	cJSON_ArrayForEach(item, list)
	{
		(*read)++;
		match(item, hits, n);
		const cJSON *at = cJSON_GetObjectItemCaseSensitive(item, "created_at");
		if (since && cJSON_IsNumber(at) && at->valuedouble < (double)since)
			*more = false; /* newest first: the rest is older still */
	}
	const cJSON *next = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(reply, "_links"), "next");
	if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(next, "href")) || cJSON_GetArraySize(list) == 0)
		*more = false;
	return KL_OK;
}

int kl_unsorted_find(struct kl_api *a, long long pipeline_id, long long since, struct kl_unsorted_hit *hits,
		     size_t n, struct kl_err *err)
{
	size_t left = 0, read = 0;
	bool more = true;
	int rc = KL_OK;
	for (size_t i = 0; i < n; i++) {
		hits[i].candidates = 0;
		left += !hits[i].found;
	}
	/* every candidate is read (down to since): a second one makes a hit ambiguous */
	for (int page = 1; left > 0 && more && rc == KL_OK; page++) {
		if (read >= KL_UNSORTED_MAX_ITEMS)
			return kl_err_set(err, KL_ETEMPFAIL,
					  "looking for the leads in Kommo's Incoming leads stopped after %d of them, without finding %zu",
					  KL_UNSORTED_MAX_ITEMS, left);
		char *path = page_path(pipeline_id, page);
		cJSON *reply = NULL;
		if (!path)
			return kl_err_oom(err);
		rc = kl_api_call(a, "GET", path, NULL, "the lookup", NULL, NULL, &reply, NULL, NULL, err);
		free(path);
		if (rc == KL_OK && !reply)
			more = false; /* 204: nothing (more) */
		else if (rc == KL_OK)
			rc = read_page(reply, since, hits, n, &read, &more, err);
		cJSON_Delete(reply);
	}
	for (size_t i = 0; rc == KL_OK && i < n; i++) {
		bool shared = false;
		for (size_t j = 0; j < n && !shared; j++)
			shared = j != i && strcmp(hits[i].source_uid, hits[j].source_uid) == 0;
		if (!hits[i].found)
			hits[i].found = hits[i].candidates == 1 && !shared;
	}
	return rc;
}

int kl_unsorted_resolve(struct kl_api *a, long long pipeline_id, long long since, double grace,
			struct kl_unsorted_hit *hits, size_t n, struct kl_err *err)
{
	int rc = kl_unsorted_find(a, pipeline_id, since, hits, n, err);
	size_t left = 0;
	for (size_t i = 0; i < n; i++)
		left += !hits[i].found;
	if (rc || left == 0 || grace <= 0)
		return rc;
	if (a->log) {
		char line[160];
		snprintf(line, sizeof line, "%zu of %zu not in Incoming leads yet: looking again in %.1f s", left, n, grace);
		a->log(a->log_ctx, line);
	}
	kl_rate_sleep(grace, a->stop);
	if (a->stop && *a->stop)
		return kl_err_set(err, KL_ETEMPFAIL, "interrupted while waiting to look in Incoming leads again");
	return kl_unsorted_find(a, pipeline_id, since, hits, n, err);
}
