#!/usr/bin/env bash
# Builds the demo's sandbox machine: a minimal root file system made of this host's own
# binaries (bash, coreutils, curl, tar, …) and their libraries, which the demo's sshd confines
# every session to (ChrootDirectory). The EKS scripts run there for real, as root of that
# root, and cannot touch the host's files; kernel settings (modprobe, sysctl) and systemd are
# not there, and the scripts skip what is missing.
#
#   demo/make-sandbox.sh DIR      (as root; DIR's parents must be root-owned, not writable by others)
set -euo pipefail
root=$1
[ "$(id -u)" = 0 ] || { echo "make-sandbox.sh: needs root (sshd only confines sessions as root)" >&2; exit 1; }
rm -rf "$root"
mkdir -p "$root"/{bin,usr/bin,usr/local/bin,usr/local/sbin,etc,tmp,root,dev,var/log,var/lib}
chmod 0755 "$root"
chmod 1777 "$root/tmp"

tools="bash sh env cat chmod cp cut date dirname basename head id ln ls mkdir mktemp mv rm sed
  sha256sum sort stat tail touch tr uname awk grep find tar gzip cmp curl sleep true false wc xargs"
copy() {
  local file=$1
  [ -e "$root$file" ] && return 0
  mkdir -p "$root$(dirname "$file")"
  cp -L "$file" "$root$file"
}
for tool in $tools; do
  path=$(type -P "$tool") || { echo "make-sandbox.sh: $tool is not installed" >&2; exit 1; }
  path=$(readlink -f "$path")
  copy "$path"
  # The name the scripts call it by, in /usr/bin and /bin.
  for dir in /usr/bin /bin; do
    [ -e "$root$dir/$tool" ] || ln -s "$path" "$root$dir/$tool"
  done
  ldd "$path" 2>/dev/null | awk '/=> \//{ print $3 } /^\t\/[^ ]+ \(/{ print $1 }' | while read -r lib; do
    copy "$(readlink -f "$lib")"
    [ "$(readlink -f "$lib")" = "$lib" ] || { mkdir -p "$root$(dirname "$lib")"; [ -e "$root$lib" ] || ln -s "$(readlink -f "$lib")" "$root$lib"; }
  done
done

# sudo: in the sandbox everyone is already root; keep the template's "sudo -n env …" working.
cat >"$root/usr/bin/sudo" <<'SUDO'
#!/bin/sh
while [ $# -gt 0 ]; do
  case $1 in -n | -E | -S | -H) shift ;; --) shift; break ;; *) break ;; esac
done
exec "$@"
SUDO
chmod 0755 "$root/usr/bin/sudo"

printf 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
printf 'kiln-demo-sandbox\n' >"$root/etc/hostname"
: >"$root/etc/machine-id"
for device in null:1:3 zero:1:5 random:1:8 urandom:1:9; do
  IFS=: read -r name major minor <<<"$device"
  mknod -m 0666 "$root/dev/$name" c "$major" "$minor"
done
echo "sandbox ready: $root ($(du -sh "$root" | cut -f1))"
