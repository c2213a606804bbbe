/*
 * kl_unsorted: finding what Kommo made of leads sent to Incoming leads, by
 * the source_uid each was sent with, when the answer to the request that
 * carried them was lost (an unknown outcome, see kl_api.h).
 *
 * Kommo does not refuse a second lead with the same source_uid, so sending
 * again is never safe by itself; but it lists Incoming leads with the
 * source_uid they were sent with (GET /api/v4/leads/unsorted, category
 * forms, newest first, 250 a page). A lead found there was created, with
 * these ids. What the list cannot show: a lead that a manager has already
 * accepted or declined has left it, so such a lead is "not found" and its
 * row is sent again, flagged possibly_duplicated.
 */
#ifndef KL_UNSORTED_H
#define KL_UNSORTED_H

#include <stdbool.h>
#include <stddef.h>

#include "kommo/kl_api.h"

struct kl_unsorted_hit {
	const char *source_uid; /* in: what to look for */
	long long created_at;   /* in: the created_at it was sent with; 0: any */
	bool found;             /* out: exactly one Incoming lead answers it */
	long long lead_id, contact_id; /* 0: not readable in Kommo's list */
	char uid[72];           /* out: the Incoming lead's uid (printable; cut if longer) */
	unsigned candidates;    /* leads that carry its source_uid (and created_at) */
};

/* The most Incoming leads one lookup reads (40 pages): past them the lookup
 * is inconclusive (KL_ETEMPFAIL), and the caller treats the outcome as
 * still unknown. */
#define KL_UNSORTED_MAX_ITEMS 10000

/* Looks for every hit's source_uid among the Incoming leads of the forms
 * category in pipeline_id (0: every pipeline), newest first, stopping at
 * the first lead created before since (Unix seconds; 0: read them all).
 * A source_uid is no key (Kommo takes a second lead with the same one), so
 * a hit is found only when exactly one listed lead carries its source_uid
 * (and the created_at it was sent with, when given) and no other hit of
 * the lookup shares that source_uid: anything else is ambiguous, and not
 * found. Sets found and the ids; returns KL_OK when the list was read as
 * far as needed, else the error (err says it). */
int kl_unsorted_find(struct kl_api *a, long long pipeline_id, long long since, struct kl_unsorted_hit *hits,
		     size_t n, struct kl_err *err);

/* kl_unsorted_find now and, for what it did not find, once more after grace
 * seconds: a request Kommo was still carrying out when its answer was lost
 * has that long to land. -v tells what it does. KL_ETEMPFAIL when a signal
 * stopped the wait. */
int kl_unsorted_resolve(struct kl_api *a, long long pipeline_id, long long since, double grace,
			struct kl_unsorted_hit *hits, size_t n, struct kl_err *err);

#endif
