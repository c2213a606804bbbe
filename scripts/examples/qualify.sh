#!/bin/sh
# Lead qualification with kommo-lead (README, "Workflows"): three steps, run
# at different times as the conversation with a person goes on.
#
#   qualify.sh open NAME PHONE [EMAIL]
#       find the person among Kommo's contacts by phone, or add them; open a
#       lead linked to that contact. Prints lead_id=... contact_id=...
#       STATUS=ID in the environment: the stage the lead starts in (default:
#       the pipeline's first; kommo-lead fields lists the stages).
#   qualify.sh move LEAD STATUS
#       later, as the conversation goes on: the lead moves to stage STATUS.
#   qualify.sh related NAME
#       the leads named after the person, each with its contacts.
#
# The lead is never changed in the run that creates it: a change fires
# Kommo's automations, which would move a new lead to a wrong stage, so all
# it starts with goes into the creating request. kommo-lead's configuration
# gives the account, token and field ids.
set -eu

usage() {
    echo "usage: qualify.sh open NAME PHONE [EMAIL] | move LEAD STATUS | related NAME" >&2
    exit 64
}

case ${1:-} in
open)
    [ $# -eq 3 ] || [ $# -eq 4 ] || usage
    name=$2 phone=$3 email=${4:-}
    # The values first, as contacts create checks them, sending nothing: a
    # phone that is none ("12345") stops here, before any search.
    kommo-lead contacts create --dry-run --name "$name" --phone "$phone" --email "$email" >/dev/null
    # The contact: --first prints the id of the contact that holds this very
    # phone, or exits 1 (as grep does) when none does; any other status is an
    # error and stops the script.
    rc=0
    contact=$(kommo-lead contacts search --first "$phone") || rc=$?
    if [ "$rc" -eq 1 ]; then
        # nobody has it: add the person (an empty --email counts as not given)
        out=$(kommo-lead contacts create --name "$name" --phone "$phone" --email "$email")
        contact=${out#contact_id=}
    elif [ "$rc" -ne 0 ]; then
        exit "$rc"
    fi
    # The lead: linked to that contact, and in its first stage, by the request
    # that creates it.
    set -- --name "Qualification: $name" --contact "$contact"
    [ -z "${STATUS:-}" ] || set -- "$@" --status "$STATUS"
    out=$(kommo-lead leads create "$@")
    echo "$out contact_id=$contact"
    ;;
move)
    [ $# -eq 3 ] || usage
    exec kommo-lead leads update "$2" --status "$3"
    ;;
related)
    [ $# -eq 2 ] || usage
    exec kommo-lead leads search "$2"
    ;;
*)
    usage
    ;;
esac
