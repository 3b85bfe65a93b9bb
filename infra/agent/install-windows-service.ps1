<#
.SYNOPSIS
  Installs the kv-acme agent to run permanently on Windows as SYSTEM: started at boot, restarted on failure.
.DESCRIPTION
  node.exe does not speak the Service Control Manager protocol, so registering it directly with sc.exe/New-Service
  makes the SCM kill it after 30 s ("The service did not respond"). This script therefore registers a Scheduled
  Task that starts at boot as SYSTEM, never times out and restarts after failures — the built-in way to run a
  long-lived console program without a wrapper. If a real service entry is required by policy, wrap the same
  command line with a service wrapper (WinSW or NSSM); -Mode Check prints that command line.
  For a one-shot schedule instead, pass -Once: the task then runs `agent --once` every -IntervalMinutes.
.EXAMPLE
  .\install-windows-service.ps1 -KvAcmeDir 'C:\Program Files\kv-acme-agent' -SettingsFile 'C:\ProgramData\kv-acme\agent.settings'
#>
param(
  [Parameter(Mandatory = $true)][string]$KvAcmeDir,
  [Parameter(Mandatory = $true)][string]$SettingsFile,
  [string]$TaskName = 'kv-acme-agent',
  [string]$NodeExe = (Get-Command node.exe -ErrorAction Stop).Source,
  [switch]$Once,
  [int]$IntervalMinutes = 60,
  [ValidateSet('Install', 'Check')][string]$Mode = 'Install'
)
$ErrorActionPreference = 'Stop'
# The agent package (kv-acme-agent-<version>.tar.gz, unpacked) has bin\kv-acme-agent.js; a source checkout has
# bin\kv-acme.js with the `agent` command.
$packaged = Join-Path $KvAcmeDir 'bin\kv-acme-agent.js'
if (Test-Path -LiteralPath $packaged) { $entry = $packaged; $command = '' } else { $entry = Join-Path $KvAcmeDir 'bin\kv-acme.js'; $command = ' agent' }
$arguments = "`"$entry`"$command --settings `"$SettingsFile`"" + ($(if ($Once) { ' --once' } else { '' }))
if ($Mode -eq 'Check') { Write-Output "`"$NodeExe`" $arguments"; return }
if (-not (Test-Path -LiteralPath $SettingsFile)) { throw "settings file $SettingsFile not found" }
if (-not (Test-Path -LiteralPath $entry)) { throw "$entry not found" }

# The settings file may hold client ids and webhook secrets: SYSTEM and Administrators only (well-known SIDs).
$acl = New-Object System.Security.AccessControl.FileSecurity
$acl.SetAccessRuleProtection($true, $false)
foreach ($sid in 'S-1-5-18', 'S-1-5-32-544') {
  $acl.AddAccessRule((New-Object System.Security.AccessControl.FileSystemAccessRule((New-Object System.Security.Principal.SecurityIdentifier($sid)), 'FullControl', 'Allow')))
}
Set-Acl -LiteralPath $SettingsFile -AclObject $acl

$action = New-ScheduledTaskAction -Execute $NodeExe -Argument $arguments -WorkingDirectory $KvAcmeDir
if ($Once) {
  $trigger = New-ScheduledTaskTrigger -Once -At (Get-Date).AddMinutes(1) -RepetitionInterval (New-TimeSpan -Minutes $IntervalMinutes)
} else {
  $trigger = New-ScheduledTaskTrigger -AtStartup
}
$principal = New-ScheduledTaskPrincipal -UserId 'S-1-5-18' -LogonType ServiceAccount -RunLevel Highest
$settings = New-ScheduledTaskSettingsSet -ExecutionTimeLimit ([TimeSpan]::Zero) -RestartCount 999 -RestartInterval (New-TimeSpan -Minutes 1) `
  -StartWhenAvailable -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries -MultipleInstances IgnoreNew
Register-ScheduledTask -TaskName $TaskName -Action $action -Trigger $trigger -Principal $principal -Settings $settings `
  -Description 'kv-acme agent: installs Key Vault certificates for this machine and rebinds IIS/HTTP.sys' -Force | Out-Null
Start-ScheduledTask -TaskName $TaskName
Get-ScheduledTask -TaskName $TaskName
