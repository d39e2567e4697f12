#!/usr/bin/env bash
# check_commit_subjects.sh - every commit since the rule was adopted has a subject of
# at most 72 characters (README "Changing it"; issue 21). Commits before it are left
# as they are: rewriting published history would break every clone.
#
#   scripts/check_commit_subjects.sh        (make test-commits runs it)
#
# Skipped, with a message, outside a git checkout or in a shallow clone that does not
# reach the first commit under the rule.
set -euo pipefail

# The last commit before the rule was enforced; everything after it is checked.
FIRST_UNCHECKED=a9b3e9ec9aae
LIMIT=72

cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! git rev-parse --git-dir > /dev/null 2>&1; then
    echo "check_commit_subjects: skipped, not a git checkout"
    exit 0
fi
if ! git cat-file -e "$FIRST_UNCHECKED^{commit}" 2> /dev/null; then
    echo "check_commit_subjects: skipped, $FIRST_UNCHECKED is not in this clone (shallow?)"
    exit 0
fi
long=$(git log --format='%h%x09%s' "$FIRST_UNCHECKED..HEAD" | awk -F'\t' -v limit="$LIMIT" 'length($2) > limit')
count=$(git rev-list --count "$FIRST_UNCHECKED..HEAD")
if [[ -n $long ]]; then
    echo "check_commit_subjects: subjects over $LIMIT characters:"
    echo "$long"
    exit 1
fi
echo "check_commit_subjects: $count commits since $FIRST_UNCHECKED, every subject at most $LIMIT characters"
