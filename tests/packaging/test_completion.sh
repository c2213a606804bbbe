#!/usr/bin/env bash
# The bash completion offers each command exactly the options that command
# accepts, files where a FILE goes, and no options where a value is due.
# What a command accepts, and which options take a value, is asked of the
# binary itself (`kommo-lead CMD --OPTION --help` refuses an option of another
# command and names one that needs a value), so the two cannot drift apart.
#
#   test_completion.sh KOMMO_LEAD COMPLETION_FILE
set -euo pipefail
self=$(realpath "$0")
bin=$(realpath "${1:?usage: test_completion.sh KOMMO_LEAD COMPLETION_FILE}")
comp=$(realpath "${2:?usage: test_completion.sh KOMMO_LEAD COMPLETION_FILE}")

# The second pass has the bash-completion package loaded, whose _filedir then
# completes the file names.
if [[ ${KL_COMPLETION_PASS-} == bash-completion ]]; then
    set +eu
    # shellcheck disable=SC1091
    source /usr/share/bash-completion/bash_completion
    set -eu
    declare -F _filedir >/dev/null || { echo "FAIL: bash-completion has no _filedir" >&2; exit 1; }
    echo "with bash-completion loaded:"
fi
# shellcheck source=completions/kommo-lead.bash
source "$comp"
complete -p kommo-lead | grep -q -- '-F _kommo_lead' || { echo "FAIL: no completion registered" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
touch leads.csv leads-2.csv state.journal

failures=0
fail()
{
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# complete WORD... : the completion of the last word, sorted, space separated, in $reply
complete_words()
{
    COMP_WORDS=("$@")
    COMP_CWORD=$(($# - 1))
    COMP_LINE="$*"
    COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    set +e # as at a prompt; compopt complains outside real completion
    _kommo_lead 2>/dev/null
    set -e
    reply=
    if ((${#COMPREPLY[@]})); then
        reply=$(printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ')
        reply=${reply% }
    fi
}

expect()
{
    local want=$1
    shift
    complete_words "$@"
    [[ $reply == "$want" ]] || fail "'${*}<TAB>' completes to [$reply], expected [$want]"
}

# --- commands, subcommands, values ------------------------------------------
expect "check config contacts fields help import leads submit" kommo-lead ""
expect "check config contacts fields import leads submit" kommo-lead help ""
expect "create search update" kommo-lead help leads ""
expect "create search" kommo-lead help contacts ""
expect "" kommo-lead help import ""
expect "import" kommo-lead i
expect "create search update" kommo-lead leads ""
expect "create search update" kommo-lead lead ""
expect "create search" kommo-lead contacts ""
expect "leads-2.csv leads.csv" kommo-lead import l
expect "leads-2.csv leads.csv" kommo-lead import --rate 2 l
expect "leads-2.csv leads.csv" kommo-lead import -- l
expect "leads-2.csv leads.csv" kommo-lead import --config l
expect "leads-2.csv leads.csv" kommo-lead import --config = l # bash splits --config=l at '='
expect "leads-2.csv leads.csv state.journal" kommo-lead import --state = ""
expect "--config=leads-2.csv --config=leads.csv" kommo-lead check --config=l
expect "state.journal" kommo-lead import --state s
expect "cp1251" kommo-lead import --encoding c
expect ", \\; auto tab" kommo-lead import --delimiter ""
expect "contact: lead:" kommo-lead --field ""
expect "" kommo-lead leads create --field ""
expect "" kommo-lead --name ""
expect "" kommo-lead --name l
expect "" kommo-lead leads search l
expect "--phone --phone-region" kommo-lead --name Ivan --ph
expect "--phone-region" kommo-lead --name Ivan --phone-
expect "--price" kommo-lead lead create --pri
expect "--limit" kommo-lead contacts search Анна --li
expect "--help" kommo-lead leads --
expect "--help" kommo-lead contacts --he

# --- the shared options may come before the command --------------------------
all_commands="check config contacts fields help import leads submit"
expect "$all_commands" kommo-lead --config x.env ""
expect "$all_commands" kommo-lead --config=x.env ""
expect "$all_commands" kommo-lead --config = x.env "" # bash split --config=x.env at '='
expect "$all_commands" kommo-lead -v --token-file f --json --timeout 5 ""
expect "import" kommo-lead --no-config i
expect "" kommo-lead --name Ivan "" # submit's own options: no command can follow
expect "" kommo-lead --config x.env --name Ivan ""
expect "" kommo-lead --dry-run "" # not taken by every command, so not before one
expect "" kommo-lead --json --dry-run ""
expect "create search update" kommo-lead --token-file f leads ""
expect "create search update" kommo-lead --config x.env help leads ""
expect "check config contacts fields import leads submit" kommo-lead -v help ""
expect "--limit" kommo-lead --json contacts search Анна --li
expect "leads-2.csv leads.csv" kommo-lead --config x.env import l
expect "leads-2.csv leads.csv" kommo-lead --config x.env --token-file l # a value, not a command
expect "--pipeline" kommo-lead --config x.env check --pi
expect "" kommo-lead --config x.env check --na # --name is not check's

if [[ ${KL_COMPLETION_PASS-} == bash-completion ]]; then
    ((failures == 0)) || { echo "$failures failures" >&2; exit 1; }
    echo "ok"
    exit 0
fi

# --- every command's options, as the binary accepts them --------------------
probe=$(for c in "" import check fields leads contacts; do "$bin" $c --help; done |
    grep -oE -- '--[a-z][-a-z]*' | sort -u)
probe+=" $(sed -e '/^[[:space:]]*#/d' -e 's/[[:space:]]#.*//' "$comp" | grep -oE -- '--[a-z][-a-z]*' | sort -u)"
probe=$(tr ' ' '\n' <<<"$probe" | sed '/^$/d' | sort -u)
file_opts=$(for c in "" import; do "$bin" $c --help; done | grep -oE -- '--[a-z][-a-z]* FILE' |
    cut -d' ' -f1 | sort -u | tr '\n' ' ')
[[ $file_opts == "--cacert --config --rejects --results --state --token-file " ]] ||
    fail "the options that take a FILE are now: $file_opts; check the completion"

# the options that may come before the command are those the binary takes
# there, before every command: kommo-lead OPTION [VALUE] COMMAND --help
# (which options take a value is held to the binary below)
before_each() {
    local c
    for c in submit import check fields config "leads search" "leads create" "leads update" \
        "contacts search" "contacts create"; do
        # shellcheck disable=SC2086 # $c: a command and its subcommand
        "$bin" "$@" $c --help >/dev/null 2>&1 </dev/null || return 1
    done
}
for o in $probe; do
    value=()
    _kommo_lead_takes_value "$o" && value=(1)
    if before_each "$o" "${value[@]}"; then
        _kommo_lead_shared "$o" || fail "$o may come before the command, but the completion does not skip it there"
    else
        ! _kommo_lead_shared "$o" || fail "the completion skips $o before the command, but kommo-lead refuses it there"
    fi
done
if ! "$bin" -v import --help >/dev/null || ! _kommo_lead_shared -v; then
    fail "-v may come before the command, but the completion does not skip it there"
fi

for cmd in submit import check fields "leads search" "leads create" "leads update" \
    "contacts search" "contacts create"; do
    read -ra words <<<"$cmd" # "leads search" is two words
    accepted=() takes_value=()
    for o in $probe; do
        # --help last: nothing is ever run, only parsed
        err=$("$bin" "${words[@]}" "$o" --help 2>&1 >/dev/null </dev/null || true)
        case $err in
        *"is not an option of"* | *"is for one lead"*) continue ;;
        *"unknown option"*) fail "the completion offers $o, which kommo-lead does not know" && continue ;;
        esac
        accepted+=("$o")
        [[ $err == *"needs a value"* ]] && takes_value+=("$o")
    done
    want=$(printf '%s\n' "${accepted[@]}" | sort | tr '\n' ' ')
    expect "${want% }" kommo-lead "${words[@]}" --
    expect "${want% }" kommo-lead --config x.env -v "${words[@]}" --
    [[ $cmd == submit ]] && expect "${want% }" kommo-lead --

    for o in "${accepted[@]}"; do
        complete_words kommo-lead "${words[@]}" "$o" ""
        if [[ " ${takes_value[*]} " == *" $o "* ]]; then
            if [[ " $file_opts" == *" $o "* ]]; then
                [[ " $reply " == *" leads.csv "* ]] || fail "'kommo-lead $cmd $o <TAB>' offers no files: [$reply]"
            elif [[ $reply == *leads.csv* || $reply == *--* ]]; then
                fail "'kommo-lead $cmd $o <TAB>' offers [$reply] for the value of $o"
            fi
            complete_words kommo-lead "${words[@]}" "$o" x --
            [[ " $reply " == *" --help "* ]] || fail "'kommo-lead $cmd $o x --<TAB>' offers no options: [$reply]"
        else
            if [[ $cmd == import ]]; then
                [[ " $reply " == *" leads.csv "* ]] || fail "'kommo-lead import $o <TAB>' offers no FILE: [$reply]"
            elif [[ -n $reply ]]; then
                fail "'kommo-lead $cmd $o <TAB>' offers [$reply], but $o takes no value"
            fi
            complete_words kommo-lead "${words[@]}" "$o" --
            [[ " $reply " == *" --help "* ]] || fail "'kommo-lead $cmd $o --<TAB>' offers no options: [$reply]"
        fi
    done
    echo "$cmd: ${#accepted[@]} options, ${#takes_value[@]} with a value"
done

if ((failures)); then
    echo "$failures failures" >&2
    exit 1
fi
echo "ok"
if [[ -f /usr/share/bash-completion/bash_completion ]]; then
    KL_COMPLETION_PASS=bash-completion "$self" "$bin" "$comp"
fi
