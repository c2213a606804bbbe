/* A record of the --state journal, apart from where it is kept: its
 * checksums, and what each event does to it. */
#include <string.h>

#include "journal_int.h"

/* --- checksums --------------------------------------------------------------
 * FNV-1a: every step is a bijection of the state, so any one changed byte
 * always changes the sum; more than one is missed with odds of 2^-64. Not a
 * defence against someone forging a record, which needs write access to the
 * file and so could do worse. */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

static uint64_t fnv_u64(uint64_t h, uint64_t v)
{
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	return fnv(h, b, 8);
}

uint64_t kl_journal_sum_uid(const unsigned char key[16], const char *uid)
{
	uint64_t h = fnv(0xcbf29ce484222325ull, key, 16);
	h = fnv_u64(h, uid ? strlen(uid) : UINT64_MAX);
	return uid ? fnv(h, uid, strlen(uid)) : h;
}

uint64_t kl_journal_sum_rec(const struct kl_journal_rec *r)
{
	uint64_t h = kl_journal_sum_uid(r->key, r->uid);
	h = fnv_u64(h, (uint64_t)r->state);
	h = fnv_u64(h, (uint64_t)r->lead);
	h = fnv_u64(h, (uint64_t)r->contact);
	return fnv_u64(h, r->dup);
}

/* --- what each event does to a record ------------------------------------- */

void kl_journal_on_sending(struct kl_journal_rec *r, bool found, const char *uid)
{
	/* an earlier request's outcome unknown: both may land */
	bool again = found && (r->state == KL_JOURNAL_UNANSWERED || r->state == KL_JOURNAL_DAMAGED);
	if (!found)
		*r = (struct kl_journal_rec){.state = KL_JOURNAL_UNANSWERED};
	r->dup = r->dup || again || (found && r->state == KL_JOURNAL_CREATED);
	if (r->state != KL_JOURNAL_CREATED) { /* a created row keeps the uid it was created with */
		r->state = KL_JOURNAL_UNANSWERED;
		r->uid = uid;
	}
}

/* false: nothing to change */
bool kl_journal_on_not_created(struct kl_journal_rec *r, bool found)
{
	if (!found || r->state == KL_JOURNAL_CREATED || r->dup)
		return false; /* a flagged row: an earlier request may have landed */
	r->state = KL_JOURNAL_NOT_CREATED;
	return true;
}

