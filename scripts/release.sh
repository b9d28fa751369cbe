#!/usr/bin/env bash
# Builds Kiln for machines without a Swift toolchain: one binary with the Swift runtime and
# Foundation linked in (`--static-swift-stdlib`), which needs only Debian's libcurl, libssh2,
# OpenSSL, libxml2 and the C/C++ runtime. Packages it as
#
#   dist/kiln_VERSION_ARCH.deb               Depends: the Debian packages of those libraries
#   dist/kiln-VERSION-linux-ARCH.tar.gz      kiln, README.md, LICENSE
#   dist/SHA256SUMS                          both, as `sha256sum -c` reads them
#
#   scripts/release.sh            VERSION is KilnVersion.kiln (Sources/KilnCore)
#
# The .deb's Depends are read off the binary: each library it links (objdump's NEEDED) is
# mapped to the Debian package that ships it (dpkg -S), so a new dependency cannot be
# forgotten. `.ci/run` installs the .deb and runs it with the toolchain hidden.
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n 's/.*public static let kiln = "\(.*\)".*/\1/p' Sources/KilnCore/Interpolation/RenderContext.swift)
[ -n "$version" ] || { echo "release: no KilnVersion.kiln found" >&2; exit 1; }
arch=$(dpkg --print-architecture)
for tool in objdump dpkg-deb sha256sum strip; do
  command -v "$tool" >/dev/null || { echo "release: $tool is missing (binutils, dpkg, coreutils)" >&2; exit 1; }
done

swift build -c release --static-swift-stdlib --scratch-path .build-release --product kiln
binary=$(swift build -c release --static-swift-stdlib --scratch-path .build-release --show-bin-path)/kiln

rm -rf dist
mkdir -p dist
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/kiln_${version}_${arch}"
install -d "$root/DEBIAN" "$root/usr/bin" "$root/usr/share/doc/kiln"
install -m 0755 "$binary" "$root/usr/bin/kiln"
strip --strip-unneeded "$root/usr/bin/kiln"
install -m 0644 README.md "$root/usr/share/doc/kiln/README.md"
install -m 0644 LICENSE "$root/usr/share/doc/kiln/copyright"

# Every library the binary links, by the Debian package that ships it.
# (ldconfig's list is read once: an awk that stops early would end ldconfig with SIGPIPE,
# which pipefail turns into a failed release.)
depends=()
libraries=$(ldconfig -p)
while read -r library; do
  path=$(awk -v lib="$library" '$1 == lib && !found {print $NF; found = 1}' <<<"$libraries")
  [ -n "$path" ] || { echo "release: $library is not a system library" >&2; exit 1; }
  package=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -n 1 | cut -d: -f1) ||
    package=$(dpkg -S "$path" 2>/dev/null | head -n 1 | cut -d: -f1)
  [ -n "$package" ] || { echo "release: no Debian package ships $path ($library)" >&2; exit 1; }
  depends+=("$package")
done < <(objdump -p "$root/usr/bin/kiln" | awk '$1 == "NEEDED" {print $2}')
depends_line=$(printf '%s\n' "${depends[@]}" | sort -u | paste -sd, - | sed 's/,/, /g')

cat >"$root/DEBIAN/control" <<CONTROL
Package: kiln
Version: ${version}
Architecture: ${arch}
Maintainer: Kiln developers <kiln@localhost>
Depends: ${depends_line}
Section: admin
Priority: optional
Homepage: https://github.com/kiln-build/kiln
Description: machine-image builder that speaks Packer's templates
 Builds Amazon machine images from Packer JSON templates with the amazon-ebs
 builder, shell/file provisioners and Packer's CLI contract; cleans up everything
 it creates on success, failure or Ctrl-C. Swift runtime linked in.
CONTROL
dpkg-deb --root-owner-group --build "$root" "dist/kiln_${version}_${arch}.deb" >/dev/null

tarball="kiln-${version}-linux-${arch}"
mkdir -p "$stage/$tarball"
cp "$root/usr/bin/kiln" README.md LICENSE "$stage/$tarball/"
tar -C "$stage" -czf "dist/$tarball.tar.gz" "$tarball"

(cd dist && sha256sum "kiln_${version}_${arch}.deb" "$tarball.tar.gz" >SHA256SUMS)
echo "release: dist/kiln_${version}_${arch}.deb (Depends: ${depends_line}), dist/$tarball.tar.gz, dist/SHA256SUMS"
