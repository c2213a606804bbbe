/*
 * kl_interrupt: what SIGINT (Ctrl-C) and SIGTERM do while a command talks to
 * Kommo. The first says at once, on stderr, that the request in flight is
 * being finished and that a second stops without waiting (or, when none
 * is in flight, that nothing is being sent); the command then
 * sends nothing new (kl_api refuses a new write, and stops every wait) and
 * ends with its summary. The second says that it stops now: kl_api refuses
 * every new request and the transport aborts the one in flight, whose
 * outcome is then unknown (it may have reached Kommo). A third signal ends
 * the program at once, as if there were no handler.
 *
 * kl_interrupted holds how many signals came (0, 1 or 2): give its address
 * to kl_api's stop.
 */
#ifndef KL_INTERRUPT_H
#define KL_INTERRUPT_H

#include <signal.h>
#include <stdbool.h>

extern volatile sig_atomic_t kl_interrupted;

/* 1 while a request is on the wire (kl_api sets it through its in_flight:
 * give it this address): the messages then say that it is being finished,
 * else that nothing is being sent (a wait on input, --dry-run, a pause
 * between requests). */
extern volatile sig_atomic_t kl_in_flight;

struct kl_interrupt {
	struct sigaction old_int, old_term;
};

/* Installs the handlers (and sets kl_interrupted to 0). restart: system
 * calls interrupted by the signal go on (SA_RESTART); false where a read
 * from a terminal would otherwise keep waiting for input after Ctrl-C. */
void kl_interrupt_begin(struct kl_interrupt *s, bool restart);

/* Puts back the handlers kl_interrupt_begin found. */
void kl_interrupt_end(struct kl_interrupt *s);

/* A line without its end is on stderr (a progress line): the messages then
 * start on a line of their own. */
void kl_interrupt_midline(bool open);

#endif
