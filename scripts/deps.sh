# Sourced by .ci/run and scripts/demo: installs what building and running
# Hearth needs on Debian/Ubuntu, only what is missing, and fails (never
# skips) when something cannot be had.

# The system packages: a C compiler and pkg-config; WebKitGTK and friends
# for the Tauri app; for the app's end-to-end test a private X server,
# WebKit's WebDriver; a CJK font, since the screens and the customer's copy
# (a PDF) are Chinese.
HEARTH_APT_PACKAGES=(libwebkit2gtk-4.1-dev libgtk-3-dev librsvg2-dev libayatana-appindicator3-dev
  xvfb webkit2gtk-driver fonts-noto-cjk)

# What only the tests and benchmarks need: poppler-utils (pdftotext,
# pdftoppm) and zbar-tools (zbarimg) read the customer's copy back;
# libvips-tools (vipsthumbnail) is the photo benchmark's yardstick, and its
# corpus is built from Debian's wallpapers with exiftool setting orientations.
# chromium and chromium-driver run the office console's browser test
# (headless, W3C WebDriver); chromium-l10n holds its zh-CN locale, so date
# inputs in the Chinese screens read 年/月/日 (without it Chromium is en-US
# whatever the language asked for).
HEARTH_TEST_PACKAGES=(poppler-utils zbar-tools libvips-tools libimage-exiftool-perl
  mate-backgrounds ukui-wallpapers plasma-workspace-wallpapers chromium chromium-driver chromium-l10n)

hearth_sudo() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

hearth_apt_install() {
  [ $# -gt 0 ] || return 0
  echo "installing $*"
  hearth_sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive hearth_sudo apt-get install -y -q "$@"
}

# Installs the missing system packages (the app's, plus any given as
# arguments); fails when a needed program is still absent.
hearth_system_deps() {
  local need=() pkg tool
  command -v cc >/dev/null || need+=(gcc libc6-dev)
  command -v pkg-config >/dev/null || need+=(pkg-config)
  for pkg in "${HEARTH_APT_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || need+=("$pkg")
  done
  hearth_apt_install "${need[@]}"
  for tool in cc pkg-config Xvfb WebKitWebDriver; do
    command -v "$tool" >/dev/null || { echo "missing $tool after installing its package" >&2; return 1; }
  done
  pkg-config --exists webkit2gtk-4.1 || { echo "webkit2gtk-4.1 is not found by pkg-config" >&2; return 1; }
}

# Node.js for ui/ (Vite 7 needs ^20.19 or >= 22.12), with npm.
hearth_node_ok() {
  command -v node >/dev/null && command -v npm >/dev/null &&
    node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit((a===20&&b>=19)||(a===22&&b>=12)||a>=23?0:1)'
}

hearth_node() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    hearth_apt_install nodejs npm || true
  fi
  if ! hearth_node_ok; then
    echo "Node.js ^20.19 or >= 22.12 with npm is needed to build ui/ (found: $(node --version 2>/dev/null || echo none));" \
      "install it, e.g. from https://nodejs.org or NodeSource" >&2
    return 1
  fi
  echo "node $(node --version), npm $(npm --version)"
}

# tauri-driver, in front of WebKitWebDriver, for the app's end-to-end test.
hearth_tauri_driver() {
  export PATH="$HOME/.cargo/bin:$PATH"
  command -v tauri-driver >/dev/null || cargo install tauri-driver --locked
  command -v tauri-driver >/dev/null || { echo "tauri-driver is missing after cargo install" >&2; return 1; }
  command -v tauri-driver
}
