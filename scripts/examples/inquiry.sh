#!/bin/sh
# A customer inquiry with kommo-lead (README, "Workflows"): two steps, run at
# different times.
#
#   inquiry.sh EMAIL|PHONE [NAME]     (or EMAIL, PHONE, NAME in the environment)
#       look the sender up among Kommo's contacts by email, then by phone. A
#       known contact gets a new lead linked to it (STATUS=ID: the stage it
#       starts in; default: the pipeline's first). Someone Kommo does not know
#       goes to Incoming leads with submit, as every lead from a person does,
#       and a manager takes it from there. Prints lead_id=... contact_id=...
#   inquiry.sh qualify LEAD STATUS
#       later, once the inquiry is qualified: the lead moves to stage STATUS
#       (kommo-lead fields lists the stages).
#
# The lead is never changed in the run that creates it: a change fires
# Kommo's automations, which would move a new lead to a wrong stage, so all
# it starts with goes into the creating request. kommo-lead's configuration
# gives the account, token and field ids.
set -eu

if [ "${1:-}" = qualify ]; then
    [ $# -eq 3 ] || { echo "usage: inquiry.sh qualify LEAD STATUS" >&2; exit 64; }
    exec kommo-lead leads update "$2" --status "$3"
fi

email=${EMAIL:-} phone=${PHONE:-}
case ${1:-} in
*@*) email=$1 ;;
?*) phone=$1 ;;
esac
if [ -z "$email$phone" ]; then
    echo "usage: inquiry.sh EMAIL|PHONE [NAME] | qualify LEAD STATUS" >&2
    exit 64
fi
# No NAME: the person goes by their email or phone. An inquiry often comes
# without a name and must not be lost for it; the manager who takes it on
# puts the real name in.
name=${2:-${NAME:-}}
name=${name:-${email:-$phone}}
# The values first, as contacts create checks them, sending nothing: a phone
# that is none ("1234", a name given in its place) stops here, before any
# search.
kommo-lead contacts create --dry-run --name "$name" --email "$email" --phone "$phone" >/dev/null

# 1. The contact that holds this very email, else this phone. --first exits
#    1 (as grep does) when none holds it; any other failure stops the script.
contact=
for value in "$email" "$phone"; do
    [ -n "$value" ] || continue
    rc=0
    contact=$(kommo-lead contacts search --first "$value") || rc=$?
    [ "$rc" -eq 0 ] && break
    [ "$rc" -eq 1 ] || exit "$rc"
    contact=
done

# 2a. Someone new: to Incoming leads, with a contact of their own.
if [ -z "$contact" ]; then
    exec kommo-lead submit --name "$name" --email "$email" --phone "$phone"
fi

# 2b. A known contact: a lead linked to it, and in its first stage, by the
#     request that creates it.
set -- --name "Inquiry: $name" --contact "$contact"
[ -z "${STATUS:-}" ] || set -- "$@" --status "$STATUS"
out=$(kommo-lead leads create "$@")
echo "$out contact_id=$contact"
