#!/usr/bin/env bash
# Install the Debian packages needed to build, test and document springvm.
set -eu

SUDO=
if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
fi

$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends \
    build-essential autoconf automake autoconf-archive libtool pkg-config \
    libjansson-dev check doxygen valgrind libbsd-dev liburcu-dev git gnuplot-nox
