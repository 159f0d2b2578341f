#!/usr/bin/perl
# Debian's libasterisk-agi-perl (Asterisk::AGI, unmodified) as a local AGI script: a few
# calls through the library, each return value written to the file named by argument 1.
use strict;
use warnings;
use Asterisk::AGI;

my $AGI = new Asterisk::AGI;
my %input = $AGI->ReadParse();
my $out = $ARGV[1];
open(my $o, '>>', $out) or die;
print $o "request $input{request}\n";
print $o "arg_1 $input{arg_1}\n";
print $o "answer " . $AGI->answer() . "\n";
print $o "set_variable " . $AGI->set_variable('FROMLIB', 'yes') . "\n";
print $o "get_variable " . $AGI->get_variable('FROMLIB') . "\n";
print $o "exec " . $AGI->exec('Set', 'Y=z') . "\n";
print $o "get_full_variable " . $AGI->get_full_variable('${Y}-x') . "\n";
print $o "stream_file " . $AGI->stream_file('beep', '""') . "\n";
print $o "say_number " . $AGI->say_number(7, '""') . "\n";
print $o "channel_status " . $AGI->channel_status() . "\n";
print $o "database_put " . $AGI->database_put('lib', 'k', 'v') . "\n";
print $o "database_get " . $AGI->database_get('lib', 'k') . "\n";
print $o "verbose " . $AGI->verbose('from Asterisk::AGI', 1) . "\n";
print $o "done\n";
exit 0;
