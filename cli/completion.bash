# Bash completion for eqlite (installed as bash-completion/completions/eqlite).
_eqlite()
{
    local cur prev cmd
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD-1]}
    cmd=${COMP_WORDS[1]}
    local commands="query check fields fmt test eval explain bench convert publish worker alerts version help"

    if [[ $COMP_CWORD -eq 1 ]]; then
        COMPREPLY=($(compgen -W "$commands --help --version" -- "$cur"))
        return
    fi
    case $cmd in
    help)
        [[ $COMP_CWORD -eq 2 ]] && COMPREPLY=($(compgen -W "$commands" -- "$cur"))
        return ;;
    query | bench | convert | publish | worker | alerts)
        case $prev in
        -f | --file | -r | --rules | --mapping | --profile)
            COMPREPLY=($(compgen -f -- "$cur"))
            return ;;
        --format)
            COMPREPLY=($(compgen -W "ndjson json csv table" -- "$cur"))
            return ;;
        --source)
            COMPREPLY=($(compgen -W "auto none windows m365-defender sentinelone-cloud-funnel ecs" -- "$cur"))
            return ;;
        --fields | --category-field | --timestamp-field | --tiebreaker-field | --size | --max-samples-per-key | \
            --max-partials | --max-keys | --memory-limit | --reorder-window | -j | --jobs | --repeat | --generate | \
            --seed | --nats | --stream | --partition-by | --partitions | --replicas | --dedup-window | --alerts | \
            --alerts-stream | --lease-ttl | --batch | --exit-idle)
            return ;; # a value: nothing to offer
        esac ;;
    check | fields)
        if [[ $prev == --mapping ]]; then
            COMPREPLY=($(compgen -f -- "$cur"))
            return
        fi ;;
    test)
        if [[ $prev == --junit ]]; then
            COMPREPLY=($(compgen -f -- "$cur"))
            return
        fi ;;
    esac
    if [[ $cur == -* ]]; then
        local opts
        case $cmd in
        query) opts="-f --file -r --rules --mapping --no-ecs --category-field --timestamp-field --tiebreaker-field
                     --size --max-samples-per-key --max-partials --max-keys -j --jobs --memory-limit
                     --reorder-window --source --profile --format --fields --stats --strict --reject-malformed --help" ;;
        bench) opts="-f --file -r --rules --mapping --category-field --timestamp-field --tiebreaker-field
                     --repeat --per-rule --generate --seed --help" ;;
        convert) opts="--source --profile --stats --help" ;;
        publish) opts="--nats --stream --partition-by --partitions --replicas --dedup-window --timestamp-field
                       --help" ;;
        worker) opts="--nats --stream -r --rules --alerts --alerts-stream --partitions --lease-ttl --dedup-window
                      --batch --timestamp-field --exit-idle --help" ;;
        alerts) opts="--nats --stream --alerts-stream --help" ;;
        fmt) opts="-w --write --check --help" ;;
        check) opts="--mapping --help" ;;
        fields) opts="--mapping --no-ecs --help" ;;
        test) opts="--junit --update --help" ;;
        *) opts="--help" ;;
        esac
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        return
    fi
    case $cmd in
    check | fields | fmt | query | bench | convert | publish) COMPREPLY=($(compgen -f -- "$cur")) ;;
    test) COMPREPLY=($(compgen -f -X '!*.@(yaml|yml)' -- "$cur") $(compgen -d -- "$cur")) ;;
    esac
}
complete -o filenames -F _eqlite eqlite
