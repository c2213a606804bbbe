#include "shared/kl_interrupt.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

volatile sig_atomic_t kl_interrupted;
volatile sig_atomic_t kl_in_flight;
static volatile sig_atomic_t midline;

/* Written by the handler itself, with write(2): at once, and safe in a
 * signal handler (stdio is not). Which one is chosen by kl_in_flight, so
 * that none claims a request that is not there. */
static const char first_busy[] =
	"kommo-lead: interrupted: finishing the request in flight, then stopping (Ctrl-C again stops "
	"without waiting for its answer)\n";
static const char first_idle[] = "kommo-lead: interrupted: stopping (nothing is being sent; Ctrl-C again stops at once)\n";
static const char second_busy[] =
	"kommo-lead: interrupted again: stopping without waiting for the answer to the request in flight "
	"(it may reach Kommo all the same)\n";
static const char second_idle[] = "kommo-lead: interrupted again: stopping now\n";

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

static void on_signal(int sig);

/* Sets what SIGINT and SIGTERM do: handler (with SA_RESTART when restart),
 * the two sharing a count, one handler running at a time; the old ones into
 * old_int and old_term when not NULL. sigaction is async-signal-safe: the
 * handler itself calls this. */
static void install(void (*handler)(int), bool restart, struct sigaction *old_int, struct sigaction *old_term)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGINT);
	sigaddset(&sa.sa_mask, SIGTERM);
	sigaction(SIGINT, &sa, old_int);
	sigaction(SIGTERM, &sa, old_term);
}

static void on_signal(int sig)
{
	int saved = errno;
	(void)sig;
	if (kl_interrupted < 2)
		kl_interrupted++;
	bool busy = kl_in_flight != 0;
	if (kl_interrupted == 1) {
		if (busy)
			say(first_busy, sizeof first_busy - 1);
		else
			say(first_idle, sizeof first_idle - 1);
		/* from now on a signal cuts a blocking read short (a pipe whose
		 * writer never closes it), so that the second one is heard */
		install(on_signal, false, NULL, NULL);
	} else {
		if (busy)
			say(second_busy, sizeof second_busy - 1);
		else
			say(second_idle, sizeof second_idle - 1);
		/* a third signal ends the program, summary or not */
		install(SIG_DFL, false, NULL, NULL);
	}
	errno = saved;
}

/* Both handlers are set with the two signals held: one arriving between
 * the two sigaction calls would run on_signal, whose install() would
 * overwrite what is being set. */
static void hold(bool on, sigset_t *was)
{
	sigset_t both;
	sigemptyset(&both);
	sigaddset(&both, SIGINT);
	sigaddset(&both, SIGTERM);
	sigprocmask(on ? SIG_BLOCK : SIG_SETMASK, on ? &both : was, on ? was : NULL);
}

void kl_interrupt_begin(struct kl_interrupt *s, bool restart)
{
	sigset_t was;
	hold(true, &was);
	kl_interrupted = 0;
	kl_in_flight = 0;
	midline = 0;
	install(on_signal, restart, &s->old_int, &s->old_term);
	hold(false, &was);
}

void kl_interrupt_end(struct kl_interrupt *s)
{
	sigset_t was;
	hold(true, &was);
	sigaction(SIGINT, &s->old_int, NULL);
	sigaction(SIGTERM, &s->old_term, NULL);
	hold(false, &was);
	midline = 0;
}

void kl_interrupt_midline(bool open)
{
	midline = open;
}
