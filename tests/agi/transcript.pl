#!/usr/bin/perl
# A test AGI script (also run as a FastAGI client by the tests' server logic, mirrored in
# Rust): reads the environment, then sends each line of the command file (argument 1) and
# writes every response line to the transcript file (argument 2). Lines of the command file
# starting with '#' are directives: "#sleep S", "#exit N", "#closeout" (close stdout and
# keep running), "#raw TEXT" (send TEXT without a newline), "#send LINE" (send a command
# line without waiting for its answer), "#pair A|B" (send two command lines in one write,
# then read each one's answer, giving up after 3 s).
use strict;
use warnings;

my ($cmds, $out) = @ARGV;
open(my $o, '>>', $out) or die "cannot write $out: $!";
select((select($o), $| = 1)[0]);
$| = 1;
$SIG{HUP} = sub { print $o "signal: SIGHUP\n"; };
while (my $l = <STDIN>) {
    chomp $l;
    last if $l eq '';
    print $o "env $l\n";
}
open(my $c, '<', $cmds) or die "cannot read $cmds: $!";
while (my $cmd = <$c>) {
    chomp $cmd;
    if ($cmd =~ /^#sleep (\S+)/) { select(undef, undef, undef, $1); next; }
    if ($cmd =~ /^#exit (\d+)/) { print $o "exit $1\n"; exit $1; }
    if ($cmd =~ /^#closeout/) { close(STDOUT); print $o "closed stdout\n"; sleep 2; print $o "still running\n"; print $o "done\n"; exit 0; }
    if ($cmd =~ /^#raw (.*)/) { print STDOUT $1; next; }
    if ($cmd =~ /^#send (.*)/) { print STDOUT "$1\n"; print $o "sent $1\n"; next; }
    if ($cmd =~ /^#pair ([^|]*)\|(.*)/) {
        # Both lines in one write, then each one's answer, or none within 3 s.
        my @pair = ($1, $2);
        syswrite(STDOUT, "$pair[0]\n$pair[1]\n");
        for my $c (@pair) {
            my $r = eval { local $SIG{ALRM} = sub { die "timeout\n" }; alarm 3; my $l = <STDIN>; alarm 0; $l };
            alarm 0;
            if (!defined $r) { print $o ($@ eq "timeout\n" ? "$c -> no answer in 3 s\n" : "$c -> EOF\n"); last; }
            chomp $r;
            print $o "$c -> $r\n";
        }
        next;
    }
    print STDOUT "$cmd\n";
    while (1) {
        my $r = <STDIN>;
        if (!defined $r) { print $o "$cmd -> EOF\n"; print $o "done\n"; exit 0; }
        chomp $r;
        print $o "$cmd -> $r\n";
        last if $r =~ /^\d{3}(?: |$)/;
    }
}
print $o "done\n";
exit 0;
