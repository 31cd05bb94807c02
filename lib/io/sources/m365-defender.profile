# Microsoft Defender XDR Advanced Hunting records, as streamed through Azure
# Event Hub ({"category":"AdvancedHunting-Device...","properties":{...}}) -> ECS,
# as elastic/integrations packages/m365_defender (pipeline_device.yml) maps them.
profile m365-defender
detect category prefix AdvancedHunting-Device
detect properties exists

set event.kind event
# AdditionalFields comes as an object or as JSON text; LoggedOnUsers as a
# list of {"UserName": ...} objects or as its JSON text.
json properties.AdditionalFields
json properties.LoggedOnUsers
time properties.Timestamp @timestamp iso
copy properties.DeviceId host.id
copy properties.DeviceName host.name
copy properties.PublicIP host.ip
copy properties.ActionType event.action
lower $event.action event.action
replace $event.action " " "-" event.action

# The table names the kind of event.
table tables
  AdvancedHunting-DeviceLogonEvents event.category=[authentication]
  AdvancedHunting-DeviceEvents event.category=[host]
  AdvancedHunting-DeviceInfo event.category=[host]
  AdvancedHunting-DeviceFileEvents event.category=[file]
  AdvancedHunting-DeviceFileCertificateInfo event.category=[file]
  AdvancedHunting-DeviceProcessEvents event.category=[process]
  AdvancedHunting-DeviceImageLoadEvents event.category=[library]
  AdvancedHunting-DeviceNetworkEvents event.category=[network]
  AdvancedHunting-DeviceNetworkInfo event.category=[network]
  AdvancedHunting-DeviceRegistryEvents event.category=[registry]
end
lookup category tables
when category == AdvancedHunting-DeviceImageLoadEvents
  set event.type [start]
  set event.action load
end
when $event.category in [authentication host file]
  append event.type [info]
end
when $event.action contains openprocess or $event.action contains connectionfound or $event.action contains networksignatureinspected or $event.action contains devicenetworkinfo
  append event.type [info]
end
when $event.action contains processcreated
  append event.type [start]
end
when $event.action contains connectionsuccess
  append event.type [end]
end
when $event.action contains connectionfailed
  append event.type [denied]
end
when $event.action contains connectionrequest or $event.action contains listeningconnectioncreated
  append event.type [start]
end
when $event.action contains inboundconnectionaccepted
  append event.type [allowed]
end
when $event.action contains registrykeycreated
  append event.type [creation]
end
when $event.action contains registrykeydeleted or $event.action contains registryvaluedeleted
  append event.type [deletion]
end
when $event.action contains registrykeyrenamed or $event.action contains registryvalueset
  append event.type [change]
end

# The acting account.
copy properties.AccountName user.name
copy properties.AccountDomain user.domain
copy properties.AccountSid user.id
when category in [AdvancedHunting-DeviceFileEvents AdvancedHunting-DeviceImageLoadEvents AdvancedHunting-DeviceRegistryEvents AdvancedHunting-DeviceNetworkEvents]
  copy properties.InitiatingProcessAccountName user.name
  copy properties.InitiatingProcessAccountDomain user.domain
  copy properties.InitiatingProcessAccountSid user.id
end
copy properties.RequestAccountName user.name
copy properties.RequestAccountDomain user.domain

when category in [AdvancedHunting-DeviceProcessEvents AdvancedHunting-DeviceEvents]
  # The process is the one created (or acted on); the initiating process is its parent.
  copy properties.FolderPath process.executable
  copy properties.FileName process.name
  copy properties.ProcessId process.pid
  copy properties.ProcessCommandLine process.command_line
  copy properties.ProcessCreationTime process.start
  time properties.ProcessCreationTime process.start iso
  copy properties.MD5 process.hash.md5
  copy properties.SHA1 process.hash.sha1
  copy properties.SHA256 process.hash.sha256
  copy properties.FileSize process.pe.sections.physical_size
  copy properties.ProcessVersionInfoOriginalFileName process.pe.original_file_name
  copy properties.ProcessVersionInfoCompanyName process.pe.company
  copy properties.ProcessVersionInfoFileDescription process.pe.description
  copy properties.ProcessVersionInfoProductName process.pe.product
  copy properties.ProcessVersionInfoProductVersion process.pe.file_version
  copy properties.InitiatingProcessCommandLine process.parent.command_line
  copy properties.InitiatingProcessFolderPath process.parent.executable
  copy properties.InitiatingProcessFileName process.parent.name
  copy properties.InitiatingProcessId process.parent.pid
  time properties.InitiatingProcessCreationTime process.parent.start iso
  copy properties.InitiatingProcessMD5 process.parent.hash.md5
  copy properties.InitiatingProcessSHA1 process.parent.hash.sha1
  copy properties.InitiatingProcessSHA256 process.parent.hash.sha256
  copy properties.InitiatingProcessFileSize process.parent.pe.sections.physical_size
  copy properties.InitiatingProcessParentId process.parent.group_leader.pid
  copy properties.InitiatingProcessParentFileName process.parent.group_leader.name
  time properties.InitiatingProcessParentCreationTime process.parent.group_leader.start iso
  copy properties.InitiatingProcessVersionInfoCompanyName process.parent.pe.company
  copy properties.InitiatingProcessVersionInfoFileDescription process.parent.pe.description
  copy properties.InitiatingProcessVersionInfoOriginalFileName process.parent.pe.original_file_name
  copy properties.InitiatingProcessVersionInfoProductName process.parent.pe.product
  copy properties.InitiatingProcessVersionInfoProductVersion process.parent.pe.file_version
  copy properties.InitiatingProcessSignatureStatus process.parent.code_signature.status
  when properties.InitiatingProcessSignatureStatus == Valid
    set process.parent.code_signature.exists true
    set process.parent.code_signature.status trusted
    set process.parent.code_signature.trusted true
  end
  when properties.InitiatingProcessSignatureStatus == Unsigned
    set process.parent.code_signature.exists false
    set process.parent.code_signature.trusted false
  end
else
  # Elsewhere the initiating process is the process, and its parent the parent.
  copy properties.InitiatingProcessCommandLine process.command_line
  copy properties.InitiatingProcessFolderPath process.executable
  copy properties.InitiatingProcessFileName process.name
  copy properties.InitiatingProcessId process.pid
  time properties.InitiatingProcessCreationTime process.start iso
  copy properties.InitiatingProcessMD5 process.hash.md5
  copy properties.InitiatingProcessSHA1 process.hash.sha1
  copy properties.InitiatingProcessSHA256 process.hash.sha256
  copy properties.InitiatingProcessFileSize process.pe.sections.physical_size
  copy properties.InitiatingProcessParentId process.parent.pid
  copy properties.InitiatingProcessParentFileName process.parent.name
  time properties.InitiatingProcessParentCreationTime process.parent.start iso
  copy properties.InitiatingProcessVersionInfoCompanyName process.pe.company
  copy properties.InitiatingProcessVersionInfoFileDescription process.pe.description
  copy properties.InitiatingProcessVersionInfoOriginalFileName process.pe.original_file_name
  copy properties.InitiatingProcessVersionInfoProductName process.pe.product
  copy properties.InitiatingProcessVersionInfoProductVersion process.pe.file_version
  copy properties.InitiatingProcessSignatureStatus process.code_signature.status
  # Files and images.
  when category == AdvancedHunting-DeviceImageLoadEvents
    copy properties.FolderPath dll.path
    copy properties.FileName dll.name
    copy properties.MD5 dll.hash.md5
    copy properties.SHA1 dll.hash.sha1
    copy properties.SHA256 dll.hash.sha256
    copy properties.FileSize dll.pe.sections.physical_size
  end
  copy properties.FolderPath file.directory
  copy properties.FileName file.name
  copy properties.FileSize file.size
  copy properties.MD5 file.hash.md5
  copy properties.SHA1 file.hash.sha1
  copy properties.SHA256 file.hash.sha256
end
# Elastic splits Defender's command lines at blanks (quotes stay).
words $process.command_line process.args
words $process.parent.command_line process.parent.args

# Network: source and destination by direction.
when category == AdvancedHunting-DeviceLogonEvents
  copy properties.RemoteIP source.ip
  copy properties.RemotePort source.port
  lower properties.Protocol network.protocol
  when properties.FailureReason exists and properties.FailureReason != ""
    set event.outcome failure
  else
    set event.outcome success
  end
end
when $event.category == network
  when properties.AdditionalFields.direction == In
    # (the pipeline's later processors leave the local port as source.port)
    copy properties.RemoteIP source.ip
    copy properties.LocalPort source.port
    copy properties.LocalIP destination.ip
    copy properties.LocalPort destination.port
    set network.direction inbound
  else
    when properties.AdditionalFields.direction == Out
      set network.direction outbound
    else
      set network.direction unknown
    end
    copy properties.LocalIP source.ip
    copy properties.LocalPort source.port
    copy properties.RemoteIP destination.ip
    copy properties.RemotePort destination.port
  end
  lower properties.Protocol network.protocol
end
when category == AdvancedHunting-DeviceFileEvents
  lower properties.RequestProtocol network.protocol
  copy properties.RequestSourceIP source.ip
end
copy properties.RemoteUrl url.original
when properties.RemoteUrl exists and properties.RemoteUrl !contains "://"
  # no scheme: the whole URL parses as a path
  copy properties.RemoteUrl url.path
  extension $url.path url.extension
end
copy properties.RegistryKey registry.key
copy properties.RegistryValueName registry.value
copy properties.RegistryValueData registry.data.strings

# Defender runs on several systems; a Windows path says which.
when $process.executable winpath or $process.parent.executable winpath or properties.OSPlatform contains Windows
  set host.os.type windows
end
# the users logged on first (Elastic's m365_defender.event.active_users)
append related.user properties.LoggedOnUsers.UserName
append related.user $user.name
append related.user properties.InitiatingProcessAccountName
append related.hash $process.hash.md5
append related.hash $process.hash.sha1
append related.hash $process.hash.sha256
