/* The child side of a script's descriptors, between fork and exec (rs_shim_launch_script in
 * shim.c): the script's stdin, stdout and, for EAGI, the audio pipe go on 0, 1 and 3, and a
 * script without audio gets no fd 3. The pipes are made close-on-exec (so no other child
 * Asterisk forks meanwhile keeps them), so each must reach its number without that flag,
 * whatever numbers pipe2 returned: dup2 clears the flag on the copy it makes, but when a pipe
 * is already on its number dup2(fd, fd) does nothing and the flag would close it at exec (the
 * script then has no stdout: issue 18, defect 7); there the flag is cleared with fcntl. A
 * source that sits on another one's number is first moved above 3, so that no dup2 replaces
 * a descriptor still to be placed. No Asterisk here, only async-signal-safe calls: the same
 * header runs in tests/child_fds.rs in a real fork and exec. */
#ifndef RS_CHILD_FDS_H
#define RS_CHILD_FDS_H

#include <fcntl.h>
#include <unistd.h>

/* Returns 0, or -1 with errno set. `audio` -1: none (fd 3 is closed). */
static inline int rs_child_fds(int in, int out, int audio)
{
	int src[3] = { in, out, audio };
	const int dst[3] = { STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO + 1 };
	int i, j;

	for (i = 0; i < 3; i++) {
		if (src[i] < 0 || src[i] == dst[i]) {
			continue;
		}
		for (j = 0; j < 3; j++) {
			if (src[i] == dst[j]) {
				/* (The copy keeps close-on-exec: dup2 below makes the one the script gets.) */
				if ((src[i] = fcntl(src[i], F_DUPFD_CLOEXEC, dst[2] + 1)) < 0) {
					return -1;
				}
				break;
			}
		}
	}
	for (i = 0; i < 3; i++) {
		if (src[i] < 0) {
			close(dst[i]);
		} else if (src[i] == dst[i]) {
			int flags = fcntl(src[i], F_GETFD);

			if (flags < 0 || fcntl(src[i], F_SETFD, flags & ~FD_CLOEXEC) < 0) {
				return -1;
			}
		} else if (dup2(src[i], dst[i]) < 0) {
			return -1;
		}
	}
	return 0;
}

#endif
