#!/bin/sh
# Installs the kv-acme agent from this unpacked release folder (docs/agent.md, "Installing the agent package").
#
#   sudo ./install.sh [--settings FILE] [--prefix DIR] [--no-systemd]
#
#   --settings FILE   install FILE as /etc/kv-acme/agent.settings (mode 0600); an existing file is kept otherwise
#   --prefix DIR      where versions are kept (default /opt/kv-acme-agent): DIR/<version>, DIR/current -> <version>
#   --no-systemd      do not install or (re)start the systemd unit (containers, tests, other init systems)
#
# Upgrades are atomic: the new version is copied beside the old one, then the `current` link is switched with a
# rename, then the service restarts. Needs Node.js 20 or later on PATH (or NODE=/path/to/node).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
prefix=/opt/kv-acme-agent
settings=
systemd=yes
while [ "$#" -gt 0 ]; do
  case "$1" in
    --settings) [ "$#" -ge 2 ] || { echo "install.sh: --settings needs a file" >&2; exit 2; }; settings=$2; shift 2 ;;
    --prefix) [ "$#" -ge 2 ] || { echo "install.sh: --prefix needs a folder" >&2; exit 2; }; prefix=$2; shift 2 ;;
    --no-systemd) systemd=no; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
etc=${KVACME_ETC:-/etc/kv-acme}
unitdir=${KVACME_UNIT_DIR:-/etc/systemd/system}
bindir=${KVACME_BIN_DIR:-/usr/local/bin}
for dir in "$prefix" "$etc" "$unitdir" "$bindir"; do
  case "$dir" in
    /*) ;;
    *) echo "install.sh: $dir: an absolute path is needed" >&2; exit 2 ;;
  esac
done

node=${NODE:-$(command -v node || true)}
[ -n "$node" ] || { echo "install.sh: Node.js 20 or later is needed (install it, or set NODE=/path/to/node)" >&2; exit 1; }
major=$("$node" -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 20 ] || { echo "install.sh: Node.js $major is too old: 20 or later is needed" >&2; exit 1; }
version=$("$node" -p 'require(process.argv[1]).version' "$here/package.json")
case "$version" in *[!0-9A-Za-z.+-]*|'') echo "install.sh: unexpected version in package.json" >&2; exit 1 ;; esac

mkdir -p "$prefix"
target="$prefix/$version"
staging="$prefix/.$version.new.$$"
rm -rf "$staging"
mkdir -p "$staging"
cp -R "$here/bin" "$here/lib" "$here/package.json" "$here/README.md" "$staging/"
rm -rf "$target"
mv "$staging" "$target"
ln -s "$version" "$prefix/.current.new.$$"
mv -T "$prefix/.current.new.$$" "$prefix/current"
mkdir -p "$bindir"
ln -sfn "$prefix/current/bin/kv-acme-agent.js" "$bindir/kv-acme-agent"

mkdir -p "$etc"
chmod 0700 "$etc"
if [ -n "$settings" ]; then
  install -m 0600 "$settings" "$etc/agent.settings.new"
  mv "$etc/agent.settings.new" "$etc/agent.settings"
fi

if [ "$systemd" = yes ]; then
  command -v systemctl >/dev/null 2>&1 || { echo "install.sh: systemctl not found: pass --no-systemd and start the agent another way" >&2; exit 1; }
  [ "$bindir" = /usr/local/bin ] || { echo "install.sh: the systemd unit runs /usr/local/bin/kv-acme-agent: KVACME_BIN_DIR needs --no-systemd" >&2; exit 2; }
  cp "$here/kv-acme-agent.service" "$unitdir/kv-acme-agent.service.new"
  mv "$unitdir/kv-acme-agent.service.new" "$unitdir/kv-acme-agent.service"
  systemctl daemon-reload
  if [ -f "$etc/agent.settings" ]; then
    systemctl enable kv-acme-agent.service
    systemctl restart kv-acme-agent.service
  else
    echo "install.sh: put the settings in $etc/agent.settings, then: systemctl enable --now kv-acme-agent" >&2
  fi
fi
echo "kv-acme-agent $version installed in $target ($bindir/kv-acme-agent)"
