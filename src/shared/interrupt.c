#include "shared/kl_interrupt.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

volatile sig_atomic_t kl_interrupted;
static volatile sig_atomic_t midline;

/* Written by the handler itself, with write(2): at once, and safe in a
 * signal handler (stdio is not). */
static const char first[] =
	"kommo-lead: interrupted: finishing the request in flight, then stopping (Ctrl-C again stops "
	"without waiting for its answer)\n";
static const char second[] =
	"kommo-lead: interrupted again: stopping without waiting for the answer to the request in flight "
	"(it may reach Kommo all the same)\n";

static void say(const char *m, size_t n)
{
	ssize_t w;
	if (midline) {
		w = write(STDERR_FILENO, "\n", 1);
		midline = 0;
	}
	w = write(STDERR_FILENO, m, n);
	(void)w; /* nowhere to tell that stderr failed */
}

static void on_signal(int sig)
{
	int saved = errno;
	(void)sig;
	if (kl_interrupted < 2)
		kl_interrupted++;
	if (kl_interrupted == 1) {
		say(first, sizeof first - 1);
	} else {
		say(second, sizeof second - 1);
		/* a third signal ends the program, summary or not: sigaction is
		 * async-signal-safe */
		struct sigaction dfl;
		memset(&dfl, 0, sizeof dfl);
		dfl.sa_handler = SIG_DFL;
		sigaction(SIGINT, &dfl, NULL);
		sigaction(SIGTERM, &dfl, NULL);
	}
	errno = saved;
}

void kl_interrupt_begin(struct kl_interrupt *s, bool restart)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigemptyset(&sa.sa_mask);
	/* the two share a count: one handler runs at a time */
	sigaddset(&sa.sa_mask, SIGINT);
	sigaddset(&sa.sa_mask, SIGTERM);
	kl_interrupted = 0;
	midline = 0;
	sigaction(SIGINT, &sa, &s->old_int);
	sigaction(SIGTERM, &sa, &s->old_term);
}

void kl_interrupt_end(struct kl_interrupt *s)
{
	sigaction(SIGINT, &s->old_int, NULL);
	sigaction(SIGTERM, &s->old_term, NULL);
	midline = 0;
}

void kl_interrupt_midline(bool open)
{
	midline = open;
}
