//! The child side of a script's descriptors, `rs_child_fds` in asterisk-headers/child_fds.h:
//! shim.c's rs_shim_launch_script runs it between fork and exec to put the script's stdin,
//! stdout and (EAGI) audio pipe on 0, 1 and 3. The pipes are close-on-exec, so each must
//! end up on its number without the flag, whatever numbers pipe2 returned (issue 18, defect
//! 7: dup2(fd, fd) leaves the flag set).
//!
//! tests/classic_agi.rs shows the one case a live Asterisk can be brought to (its descriptors
//! 0 and 1 closed, so the toast pipe is made on 0 and 1 and the script's stdout is fd 1 as
//! pipe2 returned it). The others cannot be produced in a live Asterisk: pipe2 hands out the
//! lowest free numbers, the toast pipe first, so the stdin pipe can only get 0, or the audio
//! pipe 3, if another thread frees that number between the calls. Here the same header runs
//! in a real fork and exec of /bin/sh with the pipes put on every number that matters first.
use std::path::PathBuf;
use std::process::Command;

const DRIVER: &str = r#"
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "child_fds.h"

/* Moves fd to exactly `at` (close-on-exec, as pipe2(O_CLOEXEC) makes it); -1 stays -1. */
static int place(int fd, int at)
{
	if (at < 0) {
		close(fd);
		return -1;
	}
	if (dup3(fd, at, O_CLOEXEC) < 0) {
		perror("dup3");
		exit(2);
	}
	close(fd);
	return at;
}

static int high(int fd)
{
	int h = fcntl(fd, F_DUPFD_CLOEXEC, 100);
	close(fd);
	return h;
}

static void slurp(int fd, char *buf, size_t len)
{
	size_t n = 0;
	ssize_t r;
	while (n + 1 < len && (r = read(fd, buf + n, len - 1 - n)) > 0) {
		n += r;
	}
	buf[n] = '\0';
}

/* argv: where the script's stdin, stdout and audio sources sit before the child places them
 * (-1: no audio). Reports on stderr what the script wrote on its stdout (the line it read on
 * stdin, then what it read on fd 3, or that fd 3 is closed) and its exit status. */
int main(int argc, char **argv)
{
	int in_p[2], out_p[2], audio_p[2], in, out, audio, status, i;
	char got[256];
	pid_t pid;

	if (argc != 4) {
		return 2;
	}
	if (pipe2(in_p, O_CLOEXEC) || pipe2(out_p, O_CLOEXEC) || pipe2(audio_p, O_CLOEXEC)) {
		return 2;
	}
	/* Every end out of the way, then 0, 1 and 3 free (stderr stays for the report). */
	for (i = 0; i < 2; i++) {
		in_p[i] = high(in_p[i]);
		out_p[i] = high(out_p[i]);
		audio_p[i] = high(audio_p[i]);
	}
	close(0);
	close(1);
	close(3);
	in = place(in_p[0], atoi(argv[1]));
	out = place(out_p[1], atoi(argv[2]));
	audio = place(audio_p[0], atoi(argv[3]));
	pid = fork();
	if (pid < 0) {
		return 2;
	}
	if (!pid) {
		if (rs_child_fds(in, out, audio) < 0) {
			_exit(90);
		}
		for (i = 4; i < 1024; i++) {
			close(i);
		}
		execl("/bin/sh", "sh", "-c",
			"read line; echo \"got $line\"; "
			"if { true <&3; } 2>/dev/null; then read a <&3; echo \"fd3 $a\"; else echo 'fd3 closed'; fi",
			(char *) NULL);
		_exit(91);
	}
	close(in);
	close(out);
	if (audio >= 0) {
		close(audio);
	}
	if (write(in_p[1], "hello\n", 6) != 6 || (audio >= 0 && write(audio_p[1], "sound\n", 6) != 6)) {
		return 2;
	}
	close(in_p[1]);
	close(audio_p[1]);
	slurp(out_p[0], got, sizeof(got));
	waitpid(pid, &status, 0);
	fprintf(stderr, "stdout=[%s] exit=%d\n", got, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return 0;
}
"#;

fn driver() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::temp_dir().join(format!("child_fds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("driver.c");
    std::fs::write(&src, DRIVER).unwrap();
    let bin = dir.join("driver");
    let out = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args(["-O1", "-Wall", "-Werror", "-I"])
        .arg(root.join("asterisk-headers"))
        .arg("-o")
        .arg(&bin)
        .arg(&src)
        .output()
        .expect("a C compiler (cc)");
    assert!(out.status.success(), "cc failed:\n{}", String::from_utf8_lossy(&out.stderr));
    bin
}

#[test]
fn the_script_gets_its_pipes_on_0_1_and_3_whatever_pipe2_returned() {
    let bin = driver();
    // (stdin source, stdout source, audio source): where pipe2 put them.
    let cases: [(i32, i32, i32); 9] = [
        (5, 6, 7),   // nothing special
        (5, 1, -1),  // the live case (tests/classic_agi.rs): stdout on 1, no audio
        (5, 1, 7),   // the same with EAGI
        (0, 5, -1),  // stdin on 0
        (5, 6, 3),   // EAGI's audio on 3
        (0, 1, 3),   // all three where they belong
        (1, 0, -1),  // crossed: each on the other's number
        (3, 0, 1),   // a rotation, with audio
        (3, 5, -1),  // stdin on 3, which is closed for a script without audio
    ];
    let mut failed = Vec::new();
    for (i, o, a) in cases {
        let out = Command::new(&bin).args([i.to_string(), o.to_string(), a.to_string()]).output().unwrap();
        let report = String::from_utf8_lossy(&out.stderr).trim().to_string();
        let want = if a >= 0 { "stdout=[got hello\nfd3 sound\n] exit=0" } else { "stdout=[got hello\nfd3 closed\n] exit=0" };
        if !out.status.success() || report != want {
            failed.push(format!("stdin on {i}, stdout on {o}, audio on {a}: {report:?}"));
        }
    }
    let _ = std::fs::remove_dir_all(bin.parent().unwrap());
    assert!(failed.is_empty(), "the script did not get its descriptors:\n{}", failed.join("\n"));
}
