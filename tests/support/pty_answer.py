#!/usr/bin/env python3
"""Run a command on a pseudo-terminal, answering prompts as they appear.

Usage: pty_answer.py PROMPT ANSWER [PROMPT ANSWER ...] -- CMD [ARGS ...]

Prints everything the command wrote to the terminal and exits with its status.
Used by the integration tests for masked prompts (passphrases, missing variables).
"""
import os
import pty
import select
import sys
import time

args = sys.argv[1:]
sep = args.index("--")
pairs = args[:sep]
cmd = args[sep + 1:]
answers = list(zip(pairs[0::2], pairs[1::2]))

pid, fd = pty.fork()
if pid == 0:
    os.execvp(cmd[0], cmd)

out = b""
seen = 0
deadline = time.time() + 120
while time.time() < deadline:
    ready, _, _ = select.select([fd], [], [], 0.05)
    if fd in ready:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        out += data
    if answers:
        prompt = answers[0][0].encode()
        at = out.find(prompt, seen)
        if at >= 0:
            seen = at + len(prompt)
            # Give the program time to switch echo off after printing its prompt.
            time.sleep(0.2)
            os.write(fd, answers[0][1].encode() + b"\n")
            answers.pop(0)
else:
    os.kill(pid, 9)

_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.stdout.flush()
sys.exit(os.waitstatus_to_exitcode(status))
