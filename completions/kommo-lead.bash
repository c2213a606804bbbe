# bash completion for kommo-lead                           -*- shell-script -*-
#
# Completes the commands (submit import check fields leads contacts config help), also
# after the shared options that may come before them (kommo-lead --config x.env check), the
# subcommands of leads and contacts, each command's options, and file names
# where an option or import takes a FILE. Installed as
# share/bash-completion/completions/kommo-lead; works with or without the
# bash-completion package. tests/packaging/test_option_lists.c holds the
# option lists to the option table, and tests/packaging/test_completion.sh
# checks them against what `kommo-lead CMD --OPTION` accepts.
#
# shellcheck disable=SC2207 # COMPREPLY=($(compgen ...)): the words hold no blanks

# The long options of a command ("leads search", "submit", ...).
_kommo_lead_options()
{
    local common="--cacert --config --help --json --no-config --timeout --token-command --token-file --verbose --version"
    local lead="--career --dry-run --education --email --field --form-id --form-name --form-page
                --income --last-name --lead-name --name --phone --phone-region --pipeline --price --referer
                --skip-existing --source --source-name --surname --tag --telegram --utm-campaign
                --utm-content --utm-medium --utm-referrer --utm-source --utm-term"
    case $1 in
    submit) echo "$common $lead --source-uid" ;;
    import)
        echo "$common $lead --batch-size --columns --delimiter --encoding --format --ignore-unknown-columns
              --map --max-retries --no-progress --progress --rate --rejects --results --state"
        ;;
    check) echo "$common --pipeline" ;;
    fields) echo "$common --env" ;;
    config) echo "$common" ;;
    "leads search" | "contacts search") echo "$common --first --limit" ;;
    "leads create" | "leads update")
        local link=--contact # create only: an update links nothing
        [[ $1 == "leads update" ]] && link=
        echo "$common $link --career --dry-run --education --field --income --name --pipeline --price
              --responsible --source --status --utm-campaign --utm-content --utm-medium --utm-referrer
              --utm-source --utm-term"
        ;;
    "contacts create")
        echo "$common --created-by --dry-run --email --first-name --last-name --name --phone
              --phone-region --responsible --surname"
        ;;
    *) echo "--help" ;; # leads or contacts without a subcommand
    esac
}

# Options that take a value (as the next word or after '=').
_kommo_lead_takes_value()
{
    case $1 in
    --batch-size | --cacert | --career | --columns | --config | --contact | --created-by | --delimiter | \
        --education | --email | --encoding | --field | --first-name | --form-id | --form-name | \
        --form-page | --format | --income | --last-name | --lead-name | --limit | --map | --max-retries | \
        --name | --phone | --phone-region | --pipeline | --price | --rate | --referer | --rejects | --responsible | --results | \
        --source | --source-name | --source-uid | --state | --status | --surname | --tag | --telegram | \
        --timeout | --token-command | --token-file | --utm-campaign | --utm-content | --utm-medium | \
        --utm-referrer | --utm-source | --utm-term)
        return 0
        ;;
    esac
    return 1
}

# The shared options, which may also come before the command
# (kommo-lead --config x.env check), as the parser takes them: those every
# command takes (not --dry-run, which check, fields, config and the searches
# refuse).
_kommo_lead_shared()
{
    case $1 in
    --cacert | --config | --json | --no-config | --timeout | --token-command | --token-file | \
        --verbose | -v)
        return 0
        ;;
    esac
    return 1
}

_kommo_lead_files()
{
    if declare -F _filedir >/dev/null; then
        _filedir # bash-completion's: quoting, ~, directories
    else
        local IFS=$'\n'
        compopt -o filenames 2>/dev/null || :
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
}

_kommo_lead()
{
    local cur=${COMP_WORDS[COMP_CWORD]} prev='' opt='' prefix='' cmd=submit
    local -a words=("${COMP_WORDS[@]}")
    local cword=$COMP_CWORD
    ((cword > 0)) && prev=${words[cword - 1]}
    COMPREPLY=()

    # --opt=value: bash splits the word at '=' (COMP_WORDBREAKS), or keeps it whole
    if [[ $cur == = && $prev == --* ]]; then
        opt=$prev cur=
    elif [[ $prev == = ]] && ((cword >= 2)) && [[ ${words[cword - 2]} == --* ]]; then
        opt=${words[cword - 2]}
    elif [[ $cur == --*=* ]]; then
        opt=${cur%%=*} prefix="${cur%%=*}=" cur=${cur#*=}
    elif _kommo_lead_takes_value "$prev"; then
        opt=$prev
    fi

    # the command is the first word after the shared options that may come
    # before it, and their values (as the parser reads them); its subcommand
    # the next word
    local at=1
    while ((at < cword)) && _kommo_lead_shared "${words[at]%%=*}"; do
        if [[ ${words[at + 1]-} == = ]]; then
            ((at += 3)) # --config = x.env: bash split --config=x.env at '='
        elif [[ ${words[at]} != *=* ]] && _kommo_lead_takes_value "${words[at]}"; then
            ((at += 2))
        else
            ((at += 1))
        fi
    done
    local first=${words[at]-} second=${words[at + 1]-}
    if ((cword > at)); then
        case $first in
        submit | import | check | fields | config) cmd=$first ;;
        lead | leads | contact | contacts)
            cmd=${first%s}s
            if ((cword > at + 1)); then
                case $second in
                search | create) cmd="$cmd $second" ;;
                update) [[ $cmd == leads ]] && cmd="leads update" ;;
                esac
            fi
            ;;
        esac
    fi

    if [[ -n $opt ]]; then
        case $opt in
        --config | --token-file | --cacert | --rejects | --results | --state) _kommo_lead_files ;;
        --encoding) COMPREPLY=($(compgen -W "utf-8 cp1251" -- "$cur")) ;;
        --format) COMPREPLY=($(compgen -W "auto csv jsonl" -- "$cur")) ;;
        --batch-size) COMPREPLY=($(compgen -W "auto 50 100 250" -- "$cur")) ;;
        --delimiter)
            COMPREPLY=($(compgen -W "auto tab ," -- "$cur"))
            [[ -z $cur ]] && COMPREPLY+=('\;') # escaped, or the shell would end the command there
            ;;
        --field)
            if [[ $cmd == submit || $cmd == import ]]; then
                COMPREPLY=($(compgen -W "lead: contact:" -- "$cur"))
                compopt -o nospace 2>/dev/null || :
            fi
            ;;
        esac
        # the word being completed is the whole --opt=value: keep its --opt=
        [[ -n $prefix ]] && ((${#COMPREPLY[@]})) && COMPREPLY=("${COMPREPLY[@]/#/$prefix}")
        return 0 # any other value is the user's to type
    fi

    if ((cword == at)) && [[ $cur != -* ]]; then
        COMPREPLY=($(compgen -W "submit import check fields leads contacts config help" -- "$cur"))
        return 0
    fi
    if [[ $first == help ]]; then # help [COMMAND [SUBCOMMAND]]
        case $((cword - at)):$second in
        1:*) COMPREPLY=($(compgen -W "submit import check fields leads contacts config" -- "$cur")) ;;
        2:leads | 2:lead) COMPREPLY=($(compgen -W "search create update" -- "$cur")) ;;
        2:contacts | 2:contact) COMPREPLY=($(compgen -W "search create" -- "$cur")) ;;
        esac
        return 0
    fi
    if ((cword == at + 1)) && [[ $cur != -* ]]; then
        case $cmd in
        leads) COMPREPLY=($(compgen -W "search create update" -- "$cur")) && return 0 ;;
        contacts) COMPREPLY=($(compgen -W "search create" -- "$cur")) && return 0 ;;
        esac
    fi

    # after "--" every word is an argument
    local i
    for ((i = 1; i < cword; i++)); do
        if [[ ${words[i]} == -- ]]; then
            [[ $cmd == import ]] && _kommo_lead_files
            return 0
        fi
    done

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$(_kommo_lead_options "$cmd")" -- "$cur"))
    elif [[ $cmd == import ]]; then
        _kommo_lead_files # import [FILE]
    fi
    return 0
}

complete -F _kommo_lead kommo-lead
