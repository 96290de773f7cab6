#!/usr/bin/env bash
# Fetches CPython 3.X from Debian unstable (or experimental) and unpacks it into DESTDIR so that it
# runs on this older Debian like a normal install: DESTDIR/root/usr/bin/python3.X, patched with
# patchelf to use the unpacked glibc loader and libraries.
#
# Usage: scripts/get-debian-python.sh [--suite unstable|experimental] [--allow-unverified] [--debug] 3.14 DESTDIR
#
# - The archive address is read at run time from this machine's apt sources (the entry that serves
#   the release codename itself, e.g. bookworm: not -security or -updates, not third-party repos).
# - apt runs with a private state (DESTDIR/sources.list, DESTDIR/lists, DESTDIR/cache, all removed after
#   the download; DESTDIR/debs keeps the .debs): the system's sources and lists are only read.
# - DESTDIR/packages.txt records "name version" of every package used; the interpreter's path is the
#   last line of stdout. A second run with a working interpreter (DESTDIR/.stamp) uses no network.
# - DESTDIR/pristine/python3.X is the interpreter as Debian ships it, unpatched.
# - --suite experimental: take python3.X*, libpython3.X* from experimental (libraries from unstable)
#   for a version that unstable does not carry.
# - --debug: the debug build (Py_DEBUG: python3.X-dbg and libpython3.X-dbg, with the normal build's
#   stdlib): the interpreter is DESTDIR/root/usr/bin/python3.X-dbg.
# - --allow-unverified: only if the Release file cannot be verified with any keyring found (see
#   fetch_keyring below), fall back to [trusted=yes]. Off by default.
set -euo pipefail

die() { echo "get-debian-python: $*" >&2; exit 1; }

suite=unstable
allow_unverified=0
debug=0
while [ $# -gt 0 ]; do
  case "$1" in
    --suite) [ $# -ge 2 ] || die "--suite needs an argument"; suite="$2"; shift 2 ;;
    --suite=*) suite="${1#--suite=}"; shift ;;
    --allow-unverified) allow_unverified=1; shift ;;
    --debug) debug=1; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    --) shift; break ;;
    -*) die "unknown option $1" ;;
    *) break ;;
  esac
done
[ $# -eq 2 ] || die "usage: $0 [--suite unstable|experimental] [--allow-unverified] 3.X DESTDIR"
ver="$1"
[[ "$ver" =~ ^3\.[0-9]+$ ]] || die "version must look like 3.14, got '$ver'"
case "$suite" in
  unstable|sid) suite=unstable ;;
  experimental|rc-buggy) suite=experimental ;;
  *) die "--suite must be unstable or experimental, got '$suite'" ;;
esac
mkdir -p "$2"
dest="$(cd "$2" && pwd -P)"
root="$dest/root"
flavour=""
[ "$debug" = 0 ] || flavour="-dbg"
py="$root/usr/bin/python$ver$flavour"
stamp="$dest/.stamp"

# Idempotence: a stamp written after a successful run, and an interpreter that still runs.
pristine="$dest/pristine/python$ver$flavour"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "python$ver$flavour $suite" ] && [ -x "$py" ] && [ -x "$pristine" ] &&
   "$py" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$ver'.split('.'))))" 2>/dev/null; then
  echo "$py"
  exit 0
fi

command -v apt-get >/dev/null || die "apt-get not found"
command -v dpkg-deb >/dev/null || die "dpkg-deb not found"
command -v patchelf >/dev/null || die "patchelf not found (apt-get install patchelf)"
command -v readelf >/dev/null || die "readelf not found (apt-get install binutils)"

# ---- Find the main Debian archive in the system's apt sources ----
codename="$( . /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")"
[ -n "$codename" ] || codename="$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release 2>/dev/null || true)"
[ -n "$codename" ] || die "cannot tell the release codename from /etc/os-release"

# Prints "URI<TAB>SIGNED_BY" for the first enabled 'deb' entry whose suites include the codename
# itself. deb822 stanzas first, then one-line sources. Signed-By may be empty (or an inline key,
# which is then ignored here).
find_archive() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v code="$codename" '
      function flush() {
        if (types ~ /(^| )deb( |$)/ && enabled != "no" && (" " suites " ") ~ (" " code " ") && uris != "") {
          split(uris, u, " "); print u[1] "\t" signed; found = 1; exit
        }
        types = ""; suites = ""; uris = ""; signed = ""; enabled = ""; key = ""
      }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      /^[ \t]/ { next }   # continuation line (e.g. an inline key block)
      {
        key = tolower($0); sub(/:.*/, "", key)
        val = $0; sub(/^[^:]*:[ \t]*/, "", val); gsub(/[ \t]+/, " ", val); sub(/ $/, "", val)
        if (key == "types") types = val
        else if (key == "suites") suites = val
        else if (key == "uris") uris = val
        else if (key == "signed-by") signed = (val ~ /^\//) ? val : ""
        else if (key == "enabled") enabled = tolower(val)
      }
      END { if (!found) flush() }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk -v code="$codename" '
      /^[ \t]*deb[ \t]/ {
        line = $0; sub(/#.*/, "", line); signed = ""; opts = ""
        if (match(line, /\[[^]]*\]/)) {
          opts = substr(line, RSTART + 1, RLENGTH - 2); line = substr(line, 1, RSTART - 1) substr(line, RSTART + RLENGTH)
          n = split(opts, o, " ")
          for (i = 1; i <= n; i++) if (o[i] ~ /^signed-by=/) { signed = o[i]; sub(/^signed-by=/, "", signed) }
        }
        n = split(line, w, " ")
        if (n >= 3 && w[3] == code) { print w[2] "\t" signed; exit }
      }' "$f"
  done
}
archive_line="$(find_archive | head -n1)"
[ -n "$archive_line" ] || die "no apt source for suite '$codename' found in /etc/apt/sources.list{,.d}"
archive="${archive_line%%$'\t'*}"
archive="${archive%/}"
sys_keyring="${archive_line#*$'\t'}"
# The archive's address stays out of every file this script leaves behind: logs go through scrub,
# and the private sources list and index files are removed once the packages are downloaded.
archive_host="${archive#*://}"; archive_host="${archive_host%%/*}"
scrub() { sed -e "s|$archive|<archive>|g" -e "s|$archive_host|<archive-host>|g"; }
cleanup_apt_state() { rm -rf "$dest/lists" "$dest/cache" "$dest/keyring" "$dest/sources.list"; }
trap cleanup_apt_state EXIT
[ -n "$sys_keyring" ] || sys_keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -f "$sys_keyring" ] || die "keyring $sys_keyring named by the apt sources does not exist"

arch="$(dpkg --print-architecture)"

# ---- Private apt state ----
mkdir -p "$dest/lists/partial" "$dest/cache/archives/partial" "$dest/debs" "$dest/etc"
: > "$dest/etc/status"
# Our own additions to the system apt configuration (which is still read, e.g. for proxies):
# no hooks that act on the system after 'update', no translations, no system pinning.
cat > "$dest/etc/apt.conf" <<EOF
#clear APT::Update::Post-Invoke-Success;
#clear APT::Update::Post-Invoke;
#clear APT::Update::Pre-Invoke;
Acquire::Languages "none";
APT::Sandbox::User "root";
Dir::State::status "$dest/etc/status";
Dir::Etc::Preferences "/dev/null";
Dir::Etc::PreferencesParts "/dev/null";
#clear APT::Architectures;
APT::Architectures { "$arch"; };
EOF
apt_opts=(-c "$dest/etc/apt.conf"
  -o "Dir::State::Lists=$dest/lists"
  -o "Dir::Etc::SourceList=$dest/sources.list"
  -o "Dir::Etc::SourceParts=/dev/null"
  -o "Dir::Cache=$dest/cache")

write_sources() {  # $1: "signed-by=PATH" or "trusted=yes"
  {
    echo "deb [arch=$arch $1] $archive unstable main"
    [ "$suite" = experimental ] && echo "deb [arch=$arch $1] $archive experimental main"
    true
  } > "$dest/sources.list"
}

apt_update() {
  rm -rf "$dest/lists"; mkdir -p "$dest/lists/partial"
  apt-get "${apt_opts[@]}" -q update 2>&1 | scrub > "$dest/apt-update.log" || return 1
  # apt-get update exits 0 on some signature problems (it only warns and ignores the index).
  ! grep -qE '^(W|E): .*(NO_PUBKEY|EXPKEYSIG|not signed|is not signed|BADSIG|Failed to fetch|could not be verified)' "$dest/apt-update.log"
}

# A newer debian-archive-keyring reaches stable through its own -updates suite, signed with keys the
# system already trusts: fetch it from the system's configured suites (verified with the system's
# keyring) when the system keyring cannot verify unstable (e.g. a key for a release newer than the
# system's). Prints the path of the extracted keyring.
fetch_keyring() {
  local kdir="$dest/keyring"
  rm -rf "$kdir"; mkdir -p "$kdir/lists/partial" "$kdir/cache/archives/partial" "$kdir/x"
  {
    echo "deb [signed-by=$sys_keyring] $archive $codename main"
    echo "deb [signed-by=$sys_keyring] $archive $codename-updates main"
    echo "deb [signed-by=$sys_keyring] $archive $codename-proposed-updates main"
  } > "$kdir/sources.list"
  local kopts=(-c "$dest/etc/apt.conf" -o "Dir::State::Lists=$kdir/lists" -o "Dir::Etc::SourceList=$kdir/sources.list"
               -o "Dir::Etc::SourceParts=/dev/null" -o "Dir::Cache=$kdir/cache")
  apt-get "${kopts[@]}" -q update > /dev/null 2>&1 || return 1
  (cd "$kdir" && apt-get "${kopts[@]}" -q download debian-archive-keyring > /dev/null 2>&1) || return 1
  dpkg-deb -x "$kdir"/debian-archive-keyring_*.deb "$kdir/x" || return 1
  [ -f "$kdir/x/usr/share/keyrings/debian-archive-keyring.gpg" ] || return 1
  echo "$kdir/x/usr/share/keyrings/debian-archive-keyring.gpg"
}

write_sources "signed-by=$sys_keyring"
if ! apt_update; then
  keyring=""
  if keyring="$(fetch_keyring)" && write_sources "signed-by=$keyring" && apt_update; then
    :
  elif [ "$allow_unverified" = 1 ]; then
    # Last resort, only on request: no keyring we can obtain through a verified path verifies the
    # suite, so the indexes (and hence the .deb checksums) are taken unverified.
    echo "get-debian-python: WARNING: $suite cannot be verified with any available keyring; using [trusted=yes]" >&2
    write_sources "trusted=yes"
    apt_update || die "apt-get update of $suite failed even unverified; see $dest/apt-update.log"
  else
    die "apt-get update of $suite failed or could not be verified (see $dest/apt-update.log); --allow-unverified skips verification"
  fi
fi

# ---- Download ----
pypkgs=("python$ver-minimal" "libpython$ver-minimal" "libpython$ver-stdlib" "libpython$ver-dev")
[ "$debug" = 0 ] || pypkgs+=("python$ver-dbg" "libpython$ver-dbg")
version_in() {  # $1 package, $2 suite: the version that suite has, or nothing
  apt-cache "${apt_opts[@]}" show "$1/$2" 2>/dev/null | sed -n 's/^Version: //p' | head -n1 || true
}
# With --suite experimental the python packages come from experimental when it has them (all four
# from the same place), else from unstable.
pyrel=""
if [ "$suite" = experimental ] && [ -n "$(version_in "python$ver-minimal" experimental)" ]; then
  pyrel="/experimental"
fi
for p in "${pypkgs[@]}"; do
  if [ -n "$pyrel" ]; then
    [ -n "$(version_in "$p" experimental)" ] || die "package $p is not available in Debian experimental"
  elif [ -z "$(version_in "$p" unstable)" ]; then
    case "$suite" in
      unstable) die "package $p is not available in Debian unstable (if it is only in experimental, pass --suite experimental)" ;;
      *) die "package $p is available in neither Debian experimental nor unstable" ;;
    esac
  fi
done
# Shared libraries the interpreter, the core extension modules (ctypes, ssl, hashlib, lzma, bz2, zstd,
# decimal, uuid, pyexpat, zlib) and glibc itself (libgcc_s for thread cancellation/unwinding) need.
libs=(libc6 libgcc-s1 zlib1g libexpat1 libffi8 libzstd1 liblzma5 libbz2-1.0 libssl3t64 libmpdec4 libuuid1)
# Plus whatever library the two minimal packages depend on by now (first alternative, no versions).
for p in "python$ver-minimal" "libpython$ver-minimal"; do
  while read -r d; do
    case "$d" in ""|python3*|libpython3*) ;; *) libs+=("$d") ;; esac
  done < <(apt-cache "${apt_opts[@]}" show "$p$pyrel" 2>/dev/null | awk '/^$/ {exit} /^(Pre-)?Depends:/ {sub(/^[^:]*:/, ""); print}' |
           tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/:any//; s/[[:space:]]//g' | sort -u)
done
mapfile -t libs < <(printf '%s\n' "${libs[@]}" | sort -u)
rm -f "$dest/debs"/*.deb
dl=()
for p in "${pypkgs[@]}"; do dl+=("$p$pyrel"); done
dl+=("${libs[@]}")
dl_ok=1
(cd "$dest/debs" && apt-get "${apt_opts[@]}" -q download "${dl[@]}" 2>&1 | scrub > "$dest/apt-download.log") || dl_ok=0
cleanup_apt_state
[ "$dl_ok" = 1 ] ||
  die "apt-get download failed: $(grep -E '^E:' "$dest/apt-download.log" | head -n1 || true) (see $dest/apt-download.log)"

# ---- Unpack and patch ----
rm -rf "$root" "$stamp"
mkdir -p "$root"
: > "$dest/packages.txt.new"
for deb in "$dest/debs"/*.deb; do
  dpkg-deb -x "$deb" "$root"
  printf '%s %s\n' "$(dpkg-deb -f "$deb" Package)" "$(dpkg-deb -f "$deb" Version)" >> "$dest/packages.txt.new"
done
sort "$dest/packages.txt.new" > "$dest/packages.txt"; rm -f "$dest/packages.txt.new"

[ -f "$py" ] || die "the packages did not contain usr/bin/python$ver$flavour"
interp="$(readelf -l "$py" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')"
[ -n "$interp" ] || die "cannot read PT_INTERP of $py"
triplet="$(basename "$(dirname "$(find "$root/usr/lib" -maxdepth 2 -name 'libc.so.6' | head -n1)")")"
libdir="$root/usr/lib/$triplet"
loader="$libdir/$(basename "$interp")"
[ -e "$loader" ] || die "unpacked libc6 has no loader $(basename "$interp") in $libdir"
# The file as Debian ships it, before patchelf re-lays it out (which depends on this checkout's
# path): the core fixtures (corefiles/) were made from it and are relocated to it.
mkdir -p "$dest/pristine"
cp -p "$py" "$pristine"
# --force-rpath writes DT_RPATH rather than DT_RUNPATH: DT_RPATH of the executable is also searched
# for the dependencies of everything dlopen()ed later (extension modules such as _ssl and _ctypes),
# while DT_RUNPATH would only cover the executable's own NEEDED libraries, leaving the extensions to
# pick up the system's older libssl/libffi/... through ld.so.cache.
patchelf --set-interpreter "$loader" --force-rpath --set-rpath "$libdir:$root/lib/$triplet" "$py"
# libpython3.X.so (package libpython3.X) is not fetched: Debian's python3.X links libpython statically.
if readelf -d "$py" | grep -q 'NEEDED.*libpython'; then
  die "$py links a shared libpython, which this script does not fetch"
fi

# ---- Check ----
out="$("$py" -c 'import sys, threading, asyncio, json, ctypes, hashlib, decimal, lzma, bz2, zlib, pyexpat; print(sys.prefix)' 2>&1)" ||
  die "the unpacked interpreter does not run: $out"
case "$out" in "$root"/*) ;; *) die "sys.prefix is '$out', not under $root" ;; esac

echo "python$ver$flavour $suite" > "$stamp"
echo "$py"
