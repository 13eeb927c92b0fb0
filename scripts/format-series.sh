#!/usr/bin/env bash
# Export the patch series (patches/series order) signed off by the user:
# the From: and Signed-off-by: of the lab's placeholder identity become the
# user's git identity. A Developer Certificate of Origin sign-off belongs to
# a person, so without a git identity this refuses.
# Usage: format-series.sh [OUT_DIR]   (default results/series-<time>)
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

# The placeholder the patches carry (see patches/series): not a person.
PLACEHOLDER_NAME='Seed 132851a3 maintainers'
PLACEHOLDER_EMAIL='maintainers@users.noreply.b-seed-132851a3.example'

name=$(git -C "$LAB_ROOT" config user.name || true)
email=$(git -C "$LAB_ROOT" config user.email || true)
if [ -z "$name" ] || [ -z "$email" ]; then
	die "format-series: no git identity; set yours (git config --global user.name 'Your Name'; git config --global user.email you@example.org): the patches' sign-off must be a person's"
fi
if [ "$name" = "$PLACEHOLDER_NAME" ] || [ "$email" = "$PLACEHOLDER_EMAIL" ]; then
	die "format-series: the git identity is the lab's placeholder ($name <$email>); set your own"
fi
[[ $email == *@*.* ]] || die "format-series: user.email '$email' is not an address"

out=${1:-$LAB_ROOT/results/series-$(date +%Y%m%d-%H%M%S)}
[ ! -e "$out" ] || die "format-series: $out exists; refusing to overwrite it"
mkdir -p "$out"
# resign IN OUT: IN with the placeholder identity replaced by the user's.
resign() {
	# Every use: From: (folded onto two lines by git format-patch),
	# Signed-off-by:, and the MAINTAINERS entry 0003 adds.
	NAME=$name EMAIL=$email PN=$PLACEHOLDER_NAME PE=$PLACEHOLDER_EMAIL perl -0pe '
		s/^From: \Q$ENV{PN}\E\n <\Q$ENV{PE}\E>$/From: $ENV{NAME} <$ENV{EMAIL}>/mg;
		s/\Q$ENV{PN}\E <\Q$ENV{PE}\E>/$ENV{NAME} <$ENV{EMAIL}>/g;
	' "$1" >"$2"
	if grep -q "$PLACEHOLDER_EMAIL" "$2"; then
		die "format-series: $2 still names the placeholder after re-signing"
	fi
}

n=0
while read -r group file; do
	case $group in '' | '#'*) continue ;; esac
	n=$((n + 1))
	resign "$LAB_ROOT/patches/$file" "$out/$file"
done <"$LAB_ROOT/patches/series"
# The standalone series for upstream (patches/upstream/NAME/), with their
# cover letters.
for f in "$LAB_ROOT"/patches/upstream/*/*.patch; do
	[ -e "$f" ] || continue
	d=$out/upstream/$(basename "$(dirname "$f")")
	mkdir -p "$d"
	resign "$f" "$d/$(basename "$f")"
	n=$((n + 1))
done
log "format-series: $n patches signed off by $name <$email> in $out"
