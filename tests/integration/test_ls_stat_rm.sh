#!/usr/bin/env bash
# ls (with a prefix, with --json), stat (size, chunks, copies), rm, and get/stat after rm; the
# versions that put, get and rm --json report (what the soak's history checker reads).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_cluster 3 --chunk-size 64KiB

make_random_file "$TEST_DIR/a.bin" 200000   # 4 chunks of 64 KiB (the last one partial)
printf 'ten bytes\n' >"$TEST_DIR/b.txt"
make_random_file "$TEST_DIR/c.bin" 5000
for pair in "a.bin docs/a.bin" "b.txt docs/b.txt" "c.bin other/c.bin"; do
  read -r file key <<<"$pair"
  run_capture dfs_at 1 put "$TEST_DIR/$file" "$key"
  ((RC == 0)) || fail "put $key through node 1: $(last_run)"
done

# A key is listed when a line of `ls` holds it as a whole word.
listed() { grep -qE "(^|[[:space:]\"])${1//./[.]}([[:space:]\",]|$)" "$2"; }

run_capture dfs_at 2 ls
((RC == 0)) || fail "ls through node 2: $(last_run)"
for key in docs/a.bin docs/b.txt other/c.bin; do
  listed "$key" "$OUT" || fail "ls does not list $key: $(cat "$OUT")"
done

run_capture dfs_at 3 ls docs/
((RC == 0)) || fail "ls docs/ through node 3: $(last_run)"
listed docs/a.bin "$OUT" || fail "ls docs/ does not list docs/a.bin: $(cat "$OUT")"
listed docs/b.txt "$OUT" || fail "ls docs/ does not list docs/b.txt: $(cat "$OUT")"
listed other/c.bin "$OUT" && fail "ls docs/ lists other/c.bin: $(cat "$OUT")"

run_capture dfs_at 1 ls --json
((RC == 0)) || fail "ls --json: $(last_run)"
grep -q '^[[:space:]]*\[' "$OUT" || fail "ls --json does not print a JSON array: $(cat "$OUT")"
for key in docs/a.bin docs/b.txt other/c.bin; do
  grep -qE "\"key\"[[:space:]]*:[[:space:]]*\"$key\"" "$OUT" ||
    fail "ls --json does not list $key: $(cat "$OUT")"
done
# The entry of docs/a.bin carries its size.
a_entry=$(tr -d '\r\n' <"$OUT" | sed 's/}/}\n/g' | grep '"docs/a.bin"' || true)
assert_eq 200000 "$(json_field size <<<"$a_entry")" "size of docs/a.bin in ls --json"
[[ -n $(json_field version <<<"$a_entry") ]] || fail "ls --json gives no version for docs/a.bin: $a_entry"

run_capture dfs_at 1 ls other/ --json
((RC == 0)) || fail "ls other/ --json: $(last_run)"
grep -q '"other/c.bin"' "$OUT" || fail "ls other/ --json misses other/c.bin: $(cat "$OUT")"
grep -q '"docs/' "$OUT" && fail "ls other/ --json lists docs/ keys: $(cat "$OUT")"

run_capture dfs_at 1 ls nothing-has-this-prefix/
((RC == 0)) || fail "ls of an empty prefix should succeed: $(last_run)"
[[ ! -s $OUT ]] || ! grep -q 'docs/\|other/' "$OUT" || fail "ls of an unused prefix lists keys: $(cat "$OUT")"

# stat: size, chunks, and three copies once the third replica has it (a put returns after W=2).
stat_json() { dfs_at "$1" stat "$2" --json; }
copies_are() { [[ $(stat_json 2 docs/a.bin | json_field copies) == "$1" ]]; }
run_capture stat_json 2 docs/a.bin
((RC == 0)) || fail "stat docs/a.bin --json: $(last_run)"
assert_eq docs/a.bin "$(json_field key <"$OUT")" "key in stat --json"
assert_eq 200000 "$(json_field size <"$OUT")" "size in stat --json"
assert_eq 4 "$(json_field chunks <"$OUT")" "chunks in stat --json of a 200000-byte file (64 KiB chunks)"
[[ -n $(json_field version <"$OUT") ]] || fail "stat --json has no version: $(cat "$OUT")"
wait_until 15 copies_are 3 ||
  fail "stat docs/a.bin never shows copies=3 with R=3 on 3 nodes: $(stat_json 2 docs/a.bin 2>&1)"
run_capture stat_json 3 docs/b.txt
assert_eq 10 "$(json_field size <"$OUT")" "size of docs/b.txt in stat --json"
# Files up to 64 KiB live inside their manifest: no chunks, and copies count the manifests.
assert_eq 0 "$(json_field chunks <"$OUT")" "chunks of a 10-byte file (inline)"
inline_copies_are() { [[ $(stat_json 1 docs/b.txt | json_field copies) == "$1" ]]; }
wait_until 15 inline_copies_are 3 ||
  fail "stat docs/b.txt never shows copies=3 with R=3 on 3 nodes: $(stat_json 1 docs/b.txt 2>&1)"
run_capture dfs_at 1 stat docs/b.txt
assert_contains "$OUT" "chunks: 0 (stored inline)" "stat docs/b.txt"

run_capture dfs_at 3 stat docs/a.bin
((RC == 0)) || fail "stat docs/a.bin (text): $(last_run)"
assert_contains "$OUT" 200000 "stat docs/a.bin"

# A key with control characters and a backslash: ls prints it escaped, on one line (README,
# "Keys in plain output"), and --json with JSON's escapes; the node's log holds no raw newline
# from it.
odd_key=$'odd/line\nbreak\tand\\slash\x1b'
run_capture dfs_at 1 put "$TEST_DIR/b.txt" "$odd_key"
((RC == 0)) || fail "put of a key with control characters: $(last_run)"
assert_contains "$OUT" 'stored odd/line\nbreak\tand\\slash\x1b' "put's output"
run_capture dfs_at 2 ls odd/
((RC == 0)) || fail "ls odd/: $(last_run)"
expected=$(printf '10\t%s' 'odd/line\nbreak\tand\\slash\x1b')
[[ $(cat "$OUT") == "$expected" ]] || fail "ls odd/ printed $(od -c "$OUT" | head -5), not one escaped line"
run_capture dfs_at 2 ls --json odd/
assert_contains "$OUT" '"odd/line\nbreak\tand\\slash\u001b"' "ls --json odd/"
run_capture dfs_at 1 rm "$odd_key"
((RC == 0)) || fail "rm of a key with control characters: $(last_run)"

# put, get and rm --json report the version (HLC@NODE_ID) they wrote or read: the put's is the
# one stat shows and a get serves; an rm's tombstone is newer than what it removed.
hlc_version='^[0-9]+@[0-9a-f]{32}$'
run_capture dfs_at 1 put "$TEST_DIR/a.bin" versions/v.bin --json
((RC == 0)) || fail "put --json: $(last_run)"
assert_eq versions/v.bin "$(json_field key <"$OUT")" "key in put --json"
assert_eq 200000 "$(json_field size <"$OUT")" "size in put --json"
(($(json_field copies <"$OUT") >= 2)) || fail "put --json reports fewer than W=2 copies: $(cat "$OUT")"
put_version=$(json_field version <"$OUT")
[[ $put_version =~ $hlc_version ]] || fail "put --json gives no HLC@NODE_ID version: $(cat "$OUT")"
run_capture stat_json 2 versions/v.bin
assert_eq "$put_version" "$(json_field version <"$OUT")" "stat's version of what put --json stored"
run_capture dfs_at 3 get versions/v.bin "$TEST_DIR/v.out" --json
((RC == 0)) || fail "get --json: $(last_run)"
assert_files_equal "$TEST_DIR/a.bin" "$TEST_DIR/v.out"
assert_eq versions/v.bin "$(json_field key <"$OUT")" "key in get --json"
assert_eq 200000 "$(json_field size <"$OUT")" "size in get --json"
assert_eq 4 "$(json_field chunks <"$OUT")" "chunks in get --json"
assert_eq "$put_version" "$(json_field version <"$OUT")" "get --json's version of what put stored"
run_capture dfs_at 3 get versions/v.bin - --json
assert_eq 2 "$RC" "exit code of get KEY - --json ($(last_run))"
assert_contains "$ERR" "get --json needs a file: stdout carries the content" "get - --json"
run_capture dfs_at 2 rm versions/v.bin --json
((RC == 0)) || fail "rm --json: $(last_run)"
assert_eq versions/v.bin "$(json_field key <"$OUT")" "key in rm --json"
rm_version=$(json_field version <"$OUT")
[[ $rm_version =~ $hlc_version ]] || fail "rm --json gives no HLC@NODE_ID version: $(cat "$OUT")"
((${rm_version%@*} > ${put_version%@*})) ||
  fail "rm's tombstone $rm_version is not newer than the put's $put_version"
run_capture dfs_at 1 get versions/v.bin "$TEST_DIR/v.after-rm" --json
assert_eq 1 "$RC" "exit code of get --json after rm ($(last_run))"
assert_contains "$ERR" "not found" "stderr of get --json after rm"

# rm: gone from ls, get and stat fail with "not found" through every node.
run_capture dfs_at 2 rm docs/a.bin
((RC == 0)) || fail "rm docs/a.bin through node 2: $(last_run)"
[[ ! -s $OUT ]] || fail "plain rm prints on stdout: $(cat "$OUT")"
for i in 1 2 3; do
  run_capture dfs_at "$i" ls
  ((RC == 0)) || fail "ls through node $i after rm: $(last_run)"
  listed docs/a.bin "$OUT" && fail "ls through node $i still lists docs/a.bin after rm: $(cat "$OUT")"
  listed docs/b.txt "$OUT" || fail "ls through node $i lost docs/b.txt after rm of docs/a.bin"
  run_capture dfs_at "$i" get docs/a.bin "$TEST_DIR/a.after-rm"
  assert_eq 1 "$RC" "exit code of get after rm through node $i ($(last_run))"
  assert_contains "$ERR" "not found" "stderr of get after rm through node $i"
done
run_capture dfs_at 1 stat docs/a.bin
assert_eq 1 "$RC" "exit code of stat after rm ($(last_run))"
assert_contains "$ERR" "not found" "stderr of stat after rm"
run_capture dfs_at 1 get never/stored.bin -
assert_eq 1 "$RC" "exit code of get of a key never stored ($(last_run))"
assert_contains "$ERR" "not found" "stderr of get of a key never stored"

# The other files are untouched.
run_capture dfs_at 3 get docs/b.txt "$TEST_DIR/b.out"
((RC == 0)) || fail "get docs/b.txt after rm of docs/a.bin: $(last_run)"
assert_files_equal "$TEST_DIR/b.txt" "$TEST_DIR/b.out"
