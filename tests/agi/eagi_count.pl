#!/usr/bin/perl
# EAGI test script: reads the environment, then counts the audio bytes that arrive on fd 3
# in one second and writes "bytes N" to the file named by its first argument.
use strict;
use warnings;
my ($out) = @ARGV;
open(my $o, '>>', $out) or die;
while (my $l = <STDIN>) { chomp $l; last if $l eq ''; print $o "env $l\n"; }
open(my $audio, '<&=', 3) or die "no fd 3: $!";
binmode $audio;
my ($bytes, $buf) = (0, '');
my $end = time + 1.0;
my $start = time;
use Time::HiRes qw(time);
$start = time;
while (time - $start < 1.0) {
    my $rin = '';
    vec($rin, 3, 1) = 1;
    my $left = 1.0 - (time - $start);
    last if $left <= 0;
    next unless select(my $rout = $rin, undef, undef, $left) > 0;
    my $n = sysread($audio, $buf, 65536);
    last unless $n;
    $bytes += $n;
}
print $o "bytes $bytes\n";
close $o;
exit 0;
