#!/bin/sh
# A customer inquiry with kommo-lead (README, "Workflows"): look the sender
# up among Kommo's contacts by email, then by phone. A known contact gets a
# new lead linked to it, moved to the qualified stage. Someone Kommo does not
# know goes to Incoming leads with submit, as every lead from a person does,
# and a manager takes it from there. Prints lead_id=... contact_id=...
#
#   inquiry.sh EMAIL|PHONE [NAME]   (or EMAIL, PHONE, NAME in the environment)
#   STATUS=ID   the stage of a qualified inquiry (kommo-lead fields lists them)
#   KOMMO_LEAD  the kommo-lead to run (default: kommo-lead on the PATH)
# The account, token and field ids come from kommo-lead's own configuration.
set -eu

email=${EMAIL:-}
phone=${PHONE:-}
case ${1:-} in
*@*) email=$1 ;;
?*) phone=$1 ;;
esac
name=${2:-${NAME:-}}
status=${STATUS:?set STATUS to the id of the stage of a qualified inquiry}
kl=${KOMMO_LEAD:-kommo-lead}
if [ -z "$email$phone" ]; then
    echo "usage: inquiry.sh EMAIL|PHONE [NAME]" >&2
    exit 64
fi

# 1. The contact that holds this very email, else this phone. --first exits
#    1 (as grep does) when none holds it; any other failure stops the script.
contact=
for value in "$email" "$phone"; do
    [ -n "$value" ] || continue
    rc=0
    contact=$("$kl" contacts search --first "$value") || rc=$?
    [ "$rc" -eq 0 ] && break
    [ "$rc" -eq 1 ] || exit "$rc"
    contact=
done

if [ -z "$contact" ]; then
    # 2a. Someone new: to Incoming leads, with a contact of their own. It is
    #     not changed right after (that would run the stage's automations).
    exec "$kl" submit --name "$name" --email "$email" --phone "$phone"
fi

# 2b. A known contact: a lead linked to it in the request that creates it.
out=$("$kl" leads create --name "Inquiry: ${name:-$email$phone}" --contact "$contact")
lead=${out#lead_id=}

# 3. Qualified: the lead moves to its stage.
"$kl" leads update "$lead" --status "$status" >/dev/null
echo "lead_id=$lead contact_id=$contact"
