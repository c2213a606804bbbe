/* The token from a command's output, as msmtp's passwordeval takes a
 * password: the secret stays in the store (pass, secret-tool) until it is
 * needed. */
#include "core/kl_config.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/kl_str.h"

extern char **environ;

/* More than any token; a command printing more is not printing a token. */
#define TOKEN_OUTPUT_MAX (64 * 1024)

/* Starts /bin/sh -c cmd with its stdout on a pipe; *out_fd reads it. */
static int spawn_command(const char *cmd, const char *what, pid_t *pid, int *out_fd,
			 struct kl_err *err)
{
	int p[2];
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t dflt;
	if (pipe(p) != 0)
		return kl_err_set(err, KL_EOSERR, "%s: cannot make a pipe: %s", what, strerror(errno));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addclose(&fa, p[0]);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_addclose(&fa, p[1]);
	posix_spawnattr_init(&attr);
	/* we ignore SIGPIPE; an exec'd command would inherit that and misbehave */
	sigemptyset(&dflt);
	sigaddset(&dflt, SIGPIPE);
	posix_spawnattr_setsigdefault(&attr, &dflt);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
	char *argv[] = {"sh", "-c", (char *)cmd, NULL};
	int e = posix_spawn(pid, "/bin/sh", &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(p[1]);
	if (e != 0) {
		close(p[0]);
		return kl_err_set(err, KL_ECONFIG, "%s: cannot run /bin/sh: %s", what, strerror(e));
	}
	*out_fd = p[0];
	return KL_OK;
}

/* Everything the command prints, up to TOKEN_OUTPUT_MAX; *too_long past it. */
static int read_output(int fd, struct kl_buf *out, bool *too_long, const char *what,
		       struct kl_err *err)
{
	char chunk[4096];
	int rc = KL_OK;
	*too_long = false;
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = kl_err_set(err, KL_ECONFIG, "%s: cannot read its output: %s", what, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		if (out->len + (size_t)n > TOKEN_OUTPUT_MAX) {
			*too_long = true;
			break;
		}
		if (kl_buf_append(out, chunk, (size_t)n)) {
			rc = kl_err_oom(err);
			break;
		}
	}
	explicit_bzero(chunk, sizeof chunk);
	return rc;
}

static int wait_command(pid_t pid, int *status)
{
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

/* Why the command's run gives no token, or KL_OK; never quotes its output. */
static int judge(int status, const struct kl_buf *out, bool too_long, const char *what,
		 struct kl_err *err)
{
	if (WIFSIGNALED(status))
		return kl_err_set(err, KL_ECONFIG, "%s was killed by signal %d; no token", what,
				  WTERMSIG(status));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return kl_err_set(err, KL_ECONFIG, "%s failed (exit status %d); no token", what,
				  WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	if (too_long)
		return kl_err_set(err, KL_ECONFIG, "%s printed more than 64 KiB: that is not a token", what);
	if (!out->data || out->len == 0)
		return kl_err_set(err, KL_ECONFIG, "%s printed nothing; it should print the token", what);
	if (memchr(out->data, '\0', out->len))
		return kl_err_set(err, KL_ECONFIG, "%s printed a NUL byte; it should print the token as text", what);
	if (strcspn(out->data, "\r\n") == 0)
		return kl_err_set(err, KL_ECONFIG, "%s printed an empty first line; the token should be on it", what);
	return KL_OK;
}

int kl_config_load_token_command(struct kl_config *cfg, const char *cmd, const char *origin,
				 struct kl_err *err)
{
	char what[700], qbuf[512];
	struct kl_buf out = {.secret = true};
	bool too_long = false;
	pid_t pid = -1;
	int fd = -1, status = 0;
	snprintf(what, sizeof what, "%s %s", origin, kl_str_quote(cmd, qbuf, sizeof qbuf));
	if (!*cmd)
		return kl_err_set(err, KL_ECONFIG, "%s: the command is empty", origin);
	int rc = spawn_command(cmd, what, &pid, &fd, err);
	if (rc)
		return rc;
	rc = read_output(fd, &out, &too_long, what, err);
	close(fd); /* a command still printing gets SIGPIPE rather than hanging us */
	if (wait_command(pid, &status) != 0 && rc == KL_OK)
		rc = kl_err_set(err, KL_EOSERR, "%s: cannot wait for it: %s", what, strerror(errno));
	if (rc == KL_OK && (out.data || kl_buf_append(&out, "", 0) == 0))
		rc = judge(status, &out, too_long, what, err);
	else if (rc == KL_OK)
		rc = kl_err_oom(err);
	if (rc == KL_OK) {
		out.data[strcspn(out.data, "\r\n")] = '\0';
		rc = kl_config_set(cfg, KL_CFG_API_TOKEN, out.data, origin, err);
	}
	kl_buf_free(&out);
	return rc;
}
