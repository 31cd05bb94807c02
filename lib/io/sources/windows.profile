# Windows event logs (Sysmon and Security) -> ECS, as Elastic's Sysmon pipelines
# produce it: elastic/beats x-pack/winlogbeat/module/sysmon/ingest/sysmon.yml and
# elastic/integrations packages/windows/.../sysmon_operational default.yml.
# Input: winlogbeat's raw `winlog` JSON, or an EVTX record (eqlite gives each
# record the same winlog.* fields winlogbeat does).
profile windows
detect winlog.provider_name exists or winlog.event_id exists
detect event.category missing

# Keep what winlogbeat collected.
copy @timestamp
copy winlog
copy event
copy host
copy log
copy message
copy agent
rename $winlog.level log.level
delete $winlog.time_created
time winlog.time_created event.created iso
str winlog.record_id winlog.record_id
str winlog.event_id winlog.event_id
# The pipeline drops empty event_data values first.
clean winlog.event_data "" "-" "{00000000-0000-0000-0000-000000000000}"
copy winlog.computer_name host.name
set host.os.type windows
set event.kind event
str winlog.event_id event.code
copy winlog.provider_name event.provider
copy winlog.user.identifier user.id
time winlog.event_data.UtcTime @timestamp yyyy-MM-dd HH:mm:ss.SSS

when winlog.provider_name == Microsoft-Windows-Sysmon
  set event.module sysmon
  # Event ID -> category, type and action (the pipeline's table, by event.code).
  table sysmon
    1  event.category=[process] event.type=[start] event.action="Process creation"
    2  event.category=[file] event.type=[change] event.action="A process changed a file creation time"
    3  event.category=[network] event.type=[start connection protocol] event.action="Network connection"
    4  event.category=[process] event.type=[change] event.action="Sysmon service state changed"
    5  event.category=[process] event.type=[end] event.action="Process terminated"
    6  event.category=[driver] event.type=[start] event.action="Driver loaded"
    7  event.category=[process library] event.type=[change start] event.action=["Image loaded" load]
    8  event.category=[process] event.type=[change] event.action="CreateRemoteThread"
    9  event.category=[process] event.type=[access] event.action="RawAccessRead"
    10 event.category=[process] event.type=[access] event.action="ProcessAccess"
    11 event.category=[file] event.type=[creation] event.action="FileCreate"
    12 event.category=[configuration registry] event.type=[change] event.action="RegistryEvent (Object create and delete)"
    13 event.category=[configuration registry] event.type=[change] event.action="RegistryEvent (Value Set)"
    14 event.category=[configuration registry] event.type=[change] event.action="RegistryEvent (Key and Value Rename)"
    15 event.category=[file] event.type=[access] event.action="FileCreateStreamHash"
    16 event.category=[configuration] event.type=[change] event.action="ServiceConfigurationChange"
    17 event.category=[file] event.type=[creation] event.action="PipeEvent (Pipe Created)"
    18 event.category=[file] event.type=[access] event.action="PipeEvent (Pipe Connected)"
    19 event.category=[process] event.type=[info] event.action="WmiEvent (WmiEventFilter activity detected)"
    20 event.category=[process] event.type=[change] event.action="WmiEvent (WmiEventConsumer activity detected)"
    21 event.category=[process] event.type=[access] event.action="WmiEvent (WmiEventConsumerToFilter activity detected)"
    22 event.category=[network] event.type=[connection protocol info] event.action="DNSEvent (DNS query)"
    23 event.category=[file] event.type=[deletion] event.action="FileDelete (File Delete archived)"
    24 event.type=[change] event.action="ClipboardChange (New content in the clipboard)"
    25 event.category=[process] event.type=[change] event.action="ProcessTampering (Process image change)"
    26 event.category=[file] event.type=[deletion] event.action="FileDeleteDetected (File Delete logged)"
    27 event.category=[file] event.type=[creation] event.outcome=[failure] event.action="FileBlockExecutable"
    28 event.category=[file] event.type=[deletion] event.action="FileBlockShredding"
    29 event.category=[file] event.type=[creation] event.action="FileExecutableDetected"
    255 event.category=[process] event.outcome=[failure] event.action="Error"
  end
  # Sysmon's task names, which winlogbeat renders from the publisher's
  # metadata as winlog.task and event.action (EVTX records carry only numbers).
  table sysmon_tasks
    1  winlog.task="Process Create (rule: ProcessCreate)"
    2  winlog.task="File creation time changed (rule: FileCreateTime)"
    3  winlog.task="Network connection detected (rule: NetworkConnect)"
    4  winlog.task="Sysmon service state changed"
    5  winlog.task="Process terminated (rule: ProcessTerminate)"
    6  winlog.task="Driver loaded (rule: DriverLoad)"
    7  winlog.task="Image loaded (rule: ImageLoad)"
    8  winlog.task="CreateRemoteThread detected (rule: CreateRemoteThread)"
    9  winlog.task="RawAccessRead detected (rule: RawAccessRead)"
    10 winlog.task="Process accessed (rule: ProcessAccess)"
    11 winlog.task="File created (rule: FileCreate)"
    12 winlog.task="Registry object added or deleted (rule: RegistryEvent)"
    13 winlog.task="Registry value set (rule: RegistryEvent)"
    14 winlog.task="Registry object renamed (rule: RegistryEvent)"
    15 winlog.task="File stream created (rule: FileCreateStreamHash)"
    16 winlog.task="Sysmon config state changed"
    17 winlog.task="Pipe Created (rule: PipeEvent)"
    18 winlog.task="Pipe Connected (rule: PipeEvent)"
    19 winlog.task="WmiEventFilter activity detected (rule: WmiEvent)"
    20 winlog.task="WmiEventConsumer activity detected (rule: WmiEvent)"
    21 winlog.task="WmiEventConsumerToFilter activity detected (rule: WmiEvent)"
    22 winlog.task="Dns query (rule: DnsQuery)"
    23 winlog.task="File Delete archived (rule: FileDelete)"
    24 winlog.task="Clipboard changed (rule: ClipboardChange)"
    25 winlog.task="Process Tampering (rule: ProcessTampering)"
    26 winlog.task="File Delete logged (rule: FileDeleteDetected)"
    27 winlog.task="File Block Executable (rule: FileBlockExecutable)"
    28 winlog.task="File Block Shredding (rule: FileBlockShredding)"
    29 winlog.task="File Executable Detected (rule: FileExecutableDetected)"
    255 winlog.task="Error report"
  end
  when winlog.api == evtx and winlog.task missing
    lookup $event.code sysmon_tasks
    copy $winlog.task event.action
  end
  # The action winlogbeat collected (the task name) is what the rules match
  # ("Process Create*"), as in beats' sysmon-9.01 golden; the pipeline's own
  # action is the fallback (newer pipelines overwrite it: see the report).
  copy $event.action _tmp.action
  lookup $event.code sysmon
  when $_tmp.action exists
    when $event.code == 7
      set event.action [load]
      append event.action $_tmp.action
    else
      rename $_tmp.action event.action
    end
  end
  delete $_tmp

  when winlog.event_data.RuleName exists and winlog.event_data.RuleName != "-"
    copy winlog.event_data.RuleName rule.name
  end
  # Processes: the acting process, then the parent.
  copy winlog.event_data.ProcessGuid process.entity_id
  int winlog.event_data.ProcessId process.pid
  copy winlog.event_data.Image process.executable
  copy winlog.event_data.SourceProcessGuid process.entity_id
  copy winlog.event_data.SourceProcessGUID process.entity_id
  int winlog.event_data.SourceProcessId process.pid
  int winlog.event_data.SourceThreadId process.thread.id
  copy winlog.event_data.SourceImage process.executable
  copy winlog.event_data.Destination process.executable
  copy winlog.event_data.CommandLine process.command_line
  copy winlog.event_data.CurrentDirectory process.working_directory
  copy winlog.event_data.ParentProcessGuid process.parent.entity_id
  int winlog.event_data.ParentProcessId process.parent.pid
  copy winlog.event_data.ParentImage process.parent.executable
  copy winlog.event_data.ParentCommandLine process.parent.command_line
  when $event.code != 7
    copy winlog.event_data.OriginalFileName process.pe.original_file_name
    copy winlog.event_data.Company process.pe.company
    copy winlog.event_data.Description process.pe.description
    copy winlog.event_data.FileVersion process.pe.file_version
    copy winlog.event_data.Product process.pe.product
  end
  args $process.command_line process.args
  args $process.parent.command_line process.parent.args
  basename $process.executable process.name
  basename $process.parent.executable process.parent.name
  # Hashes: of the process (1, 23-26) or of a file (6, 7, 15, 26, 29).
  copy winlog.event_data.Hash winlog.event_data.Hashes
  when $event.code in [1 23 24 25 26]
    hashes winlog.event_data.Hashes process.hash
    rename $process.hash.imphash process.pe.imphash
    append related.hash $process.hash.md5
    append related.hash $process.hash.sha1
    append related.hash $process.hash.sha256
    append related.hash $process.pe.imphash
  end
  when $event.code in [6 7 15 26 29]
    hashes winlog.event_data.Hashes file.hash
    rename $file.hash.imphash file.pe.imphash
    append related.hash $file.hash.sha256
    append related.hash $file.hash.sha1
    append related.hash $file.hash.md5
    append related.hash $file.pe.imphash
  end
  # Files, pipes, drivers and loaded images.
  copy winlog.event_data.TargetFilename file.path
  copy winlog.event_data.Device file.path
  copy winlog.event_data.PipeName file.name
  copy winlog.event_data.ImageLoaded file.path
  copy winlog.event_data.Signature file.code_signature.subject_name
  copy winlog.event_data.SignatureStatus file.code_signature.status
  when $event.code == 7
    copy winlog.event_data.OriginalFileName file.pe.original_file_name
    copy winlog.event_data.Company file.pe.company
    copy winlog.event_data.Description file.pe.description
    copy winlog.event_data.FileVersion file.pe.file_version
    copy winlog.event_data.Product file.pe.product
    # elastic/integrations also describes the loaded image as dll.*
    copy $file.path dll.path
    copy $file.hash dll.hash
    copy $file.pe.imphash dll.pe.imphash
    copy $file.pe.original_file_name dll.pe.original_file_name
    copy winlog.event_data.Signed dll.code_signature.status
    when winlog.event_data.Signed == true
      set file.code_signature.trusted true
    else
      set file.code_signature.trusted false
    end
  end
  when winlog.event_data.Signed == true
    set file.code_signature.signed true
  end
  when winlog.event_data.SignatureStatus == Valid
    set file.code_signature.valid true
  end
  when $file.path contains "\\"
    basename $file.path file.name
    dirname $file.path file.directory
    extension $file.path file.extension
  end
  basename $dll.path dll.name
  # Network and DNS.
  copy winlog.event_data.Protocol network.transport
  when $event.code != 22
    copy winlog.event_data.DestinationPortName network.protocol
    copy winlog.event_data.SourcePortName network.protocol
  else
    set network.protocol dns
  end
  copy winlog.event_data.SourceIp source.ip
  copy winlog.event_data.SourceHostname source.domain
  int winlog.event_data.SourcePort source.port
  copy winlog.event_data.DestinationIp destination.ip
  copy winlog.event_data.DestinationHostname destination.domain
  int winlog.event_data.DestinationPort destination.port
  copy winlog.event_data.QueryName dns.question.name
  # the answers: addresses to dns.resolved_ip, names of typed records to related.hosts
  dnsresults winlog.event_data.QueryResults dns.resolved_ip related.hosts
  append related.hosts $dns.question.name
  when winlog.event_data.Initiated == true
    set network.direction egress
  end
  when winlog.event_data.Initiated == false
    set network.direction ingress
  end
  when winlog.event_data.SourceIsIpv6 == false
    set network.type ipv4
  end
  when winlog.event_data.SourceIsIpv6 == true
    set network.type ipv6
  end
  # Registry (12, 13, 14): hive, key, value, data.
  when $event.code in [12 13 14] and winlog.event_data.TargetObject exists
    table hives
      HKEY_CLASSES_ROOT registry.hive=HKCR
      HKCR registry.hive=HKCR
      HKEY_CURRENT_CONFIG registry.hive=HKCC
      HKCC registry.hive=HKCC
      HKEY_CURRENT_USER registry.hive=HKCU
      HKCU registry.hive=HKCU
      HKEY_DYN_DATA registry.hive=HKDD
      HKDD registry.hive=HKDD
      HKEY_LOCAL_MACHINE registry.hive=HKLM
      HKLM registry.hive=HKLM
      HKEY_PERFORMANCE_DATA registry.hive=HKPD
      HKPD registry.hive=HKPD
      HKEY_USERS registry.hive=HKU
      HKU registry.hive=HKU
    end
    copy winlog.event_data.TargetObject registry.path
    head winlog.event_data.TargetObject "\\" _tmp.hive
    lookup $_tmp.hive hives
    when $registry.hive exists
      tail winlog.event_data.TargetObject "\\" registry.key
    end
    delete $_tmp
    basename winlog.event_data.TargetObject registry.value
    # DWORD / QWORD values as their numbers, with registry.data.type
    regdata winlog.event_data.Details registry.data
  end
  # The acting user: DOMAIN\name.
  user winlog.event_data.User user.domain user.name
  append related.user $user.name
  append related.ip $source.ip
  append related.ip $destination.ip
  append related.ip $dns.resolved_ip
  # What the pipeline took out of event_data (moved to ECS fields).
  delete $winlog.event_data.ProcessId
  delete $winlog.event_data.ProcessGuid
  delete $winlog.event_data.Image
  delete $winlog.event_data.CommandLine
  delete $winlog.event_data.CurrentDirectory
  delete $winlog.event_data.ParentProcessGuid
  delete $winlog.event_data.ParentProcessId
  delete $winlog.event_data.ParentImage
  delete $winlog.event_data.ParentCommandLine
  delete $winlog.event_data.OriginalFileName
  delete $winlog.event_data.SourceProcessId
  delete $winlog.event_data.SourceProcessGuid
  delete $winlog.event_data.SourceProcessGUID
  delete $winlog.event_data.SourceThreadId
  delete $winlog.event_data.SourceImage
  delete $winlog.event_data.TargetFilename
  delete $winlog.event_data.ImageLoaded
  delete $winlog.event_data.SourceIp
  delete $winlog.event_data.SourcePort
  delete $winlog.event_data.SourcePortName
  delete $winlog.event_data.SourceHostname
  delete $winlog.event_data.DestinationIp
  delete $winlog.event_data.DestinationPort
  delete $winlog.event_data.DestinationPortName
  delete $winlog.event_data.DestinationHostname
  delete $winlog.event_data.Protocol
  delete $winlog.event_data.RuleName
  delete $winlog.event_data.User
  delete $winlog.event_data.Initiated
  delete $winlog.event_data.SourceIsIpv6
  delete $winlog.event_data.DestinationIsIpv6
  delete $winlog.event_data.UtcTime
  delete $winlog.event_data.Hash
  delete $winlog.event_data.Hashes
  delete $winlog.event_data.TargetObject
  delete $winlog.event_data.Details
  delete $winlog.event_data.QueryName
  delete $winlog.event_data.QueryStatus
  delete $winlog.event_data.QueryResults
  delete $winlog.event_data.Signature
  delete $winlog.event_data.SignatureStatus
end

# Security log: process creation (4688) and the logon events the rules read.
when winlog.channel == Security
  table security
    4688 event.category=[process] event.type=[start] event.action=created-process
    4689 event.category=[process] event.type=[end] event.action=exited-process
    4624 event.category=[authentication] event.type=[start] event.action=logged-in event.outcome=success
    4625 event.category=[authentication] event.type=[start] event.action=logon-failed event.outcome=failure
    4648 event.category=[authentication] event.type=[start] event.action=logged-in-explicit
    4672 event.category=[iam] event.type=[admin] event.action=logged-in-special
    4697 event.category=[iam configuration] event.type=[admin change] event.action=service-installed
    4698 event.category=[iam configuration] event.type=[creation admin] event.action=scheduled-task-created
    4720 event.category=[iam] event.type=[user creation] event.action=added-user-account
    4732 event.category=[iam] event.type=[group change] event.action=added-member-to-group
  end
  set event.module security
  lookup winlog.event_id security
  when $event.code == 4688
    copy winlog.event_data.NewProcessName process.executable
    int winlog.event_data.NewProcessId process.pid
    copy winlog.event_data.CommandLine process.command_line
    copy winlog.event_data.ParentProcessName process.parent.executable
    int winlog.event_data.ProcessId process.parent.pid
    args $process.command_line process.args
    basename $process.executable process.name
    basename $process.parent.executable process.parent.name
    copy winlog.event_data.TargetUserName user.name
    copy winlog.event_data.TargetDomainName user.domain
    copy winlog.event_data.TargetUserSid user.id
    when $user.name missing or $user.name == "-"
      copy winlog.event_data.SubjectUserName user.name
      copy winlog.event_data.SubjectDomainName user.domain
      copy winlog.event_data.SubjectUserSid user.id
    end
  end
  when $event.code in [4624 4625 4648]
    copy winlog.event_data.TargetUserName user.name
    copy winlog.event_data.TargetDomainName user.domain
    copy winlog.event_data.TargetUserSid user.id
    copy winlog.event_data.IpAddress source.ip
    int winlog.event_data.IpPort source.port
    copy winlog.event_data.LogonType winlog.logon.id
    copy winlog.event_data.ProcessName process.executable
    basename $process.executable process.name
  end
  append related.user $user.name
end
