#!/usr/bin/env python3
"""A real OpenSSH sshd on 127.0.0.1 for Kiln's tests, with its own host key and config.

    sshd_server.py READY_FILE AUTHORIZED_KEYS_FILE [PORT] [--debug-log] [--password-user=NAME]
                   [--chroot=DIR] [--sftp=broken|none]

Picks a free loopback port, generates an ed25519 host key, writes a config that accepts
public keys from AUTHORIZED_KEYS_FILE for the user running the tests, starts `sshd -D`, waits
until it accepts connections, and writes {"port", "user", "host_key_fingerprint", "pid",
"directory"} to READY_FILE. sshd is killed when the test process goes away (stdin closes),
and its directory (/tmp/kiln-sshd-*: host key, config, log) is removed whenever this exits.
With --chroot=DIR (root only; DIR and its parents root-owned, not group/world-writable), every
session is confined to DIR and files go over sshd's internal SFTP server: the demo's sandbox.
With --sftp=broken the sftp subsystem is a program that exits at once without answering (as
when sshd cannot enter an unsafe ChrootDirectory); with --sftp=none there is no sftp subsystem.
"""
import getpass
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from lifeline import exit_with_parent, write_ready

debug_log = "--debug-log" in sys.argv
password_user = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--password-user=")), None)
chroot = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--chroot=")), None)
sftp = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--sftp=")), None)
sys.argv = [a for a in sys.argv if a != "--debug-log" and not a.startswith(("--password-user=", "--chroot=", "--sftp="))]
ready_file, authorized_keys = sys.argv[1], sys.argv[2]
directory = tempfile.mkdtemp(prefix="kiln-sshd-")
os.chmod(directory, 0o755)
os.makedirs("/run/sshd", exist_ok=True)

host_key = os.path.join(directory, "ssh_host_ed25519_key")
subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", host_key], check=True)
fingerprint = subprocess.run(["ssh-keygen", "-l", "-f", host_key], check=True, capture_output=True,
                             text=True).stdout.split()[1]

if len(sys.argv) > 3:
    port = int(sys.argv[3])  # a restart on the same port
else:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()

user = getpass.getuser()
subsystem = {None: f"Subsystem sftp {'internal-sftp' if chroot else '/usr/lib/openssh/sftp-server'}",
             "broken": "Subsystem sftp /bin/false", "none": ""}[sftp]
config = os.path.join(directory, "sshd_config")
with open(config, "w") as f:
    f.write(f"""Port {port}
ListenAddress 127.0.0.1
HostKey {host_key}
PidFile {directory}/sshd.pid
AuthorizedKeysFile {authorized_keys}
AllowUsers {user}{" " + password_user if password_user else ""}
StrictModes no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication {"yes" if password_user else "no"}
KbdInteractiveAuthentication no
UsePAM no
MaxStartups 100
MaxSessions 100
ClientAliveInterval 0
{subsystem}
{f"ChrootDirectory {chroot}" if chroot else ""}
LogLevel {"DEBUG1" if debug_log else ("INFO" if chroot else "VERBOSE")}
""")

sshd = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", config],
                        stdout=open(os.path.join(directory, "sshd.log"), "w"), stderr=subprocess.STDOUT)


def shut_down():
    """Stops sshd and removes its directory (every way out of this script passes here)."""
    sshd.kill()
    sshd.wait()
    shutil.rmtree(directory, ignore_errors=True)


exit_with_parent(before_exit=shut_down)

deadline = time.time() + 20
while time.time() < deadline:
    if sshd.poll() is not None:
        log = open(os.path.join(directory, "sshd.log")).read()
        shut_down()
        sys.exit("sshd exited: " + log)
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        break
    except OSError:
        time.sleep(0.05)

write_ready(ready_file, {"port": port, "user": user, "host_key_fingerprint": fingerprint, "pid": sshd.pid,
                         "directory": directory})
sshd.wait()
shut_down()
