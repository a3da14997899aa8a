#!/bin/sh
# Spreads a NIC's interrupt lines over the CPUs the proxy does not run on, one CPU per line in
# turn. Dry run by default: prints what it would write; --apply writes it (as root).
#
#   tuning/irq-affinity.sh [--apply] IFACE CPUS      e.g.  tuning/irq-affinity.sh eth0 6-7
#
# CPUS is a kernel CPU list (`6-7`, `0,6,7`). The NIC's lines are its device's MSI vectors
# (`/sys/class/net/IFACE/device/msi_irqs`, or its parent's for a virtio NIC), or its one legacy
# line. irqbalance, if it runs, moves lines back: stop it, or ban these CPUs there
# (IRQBALANCE_BANNED_CPULIST), before applying. tuning/README.md says why.
set -eu

apply=no
if [ "${1:-}" = "--apply" ]; then
    apply=yes
    shift
fi
if [ $# -ne 2 ]; then
    echo "usage: $0 [--apply] IFACE CPUS   (dry run unless --apply)" >&2
    exit 2
fi
iface=$1
cpus=$2

device=/sys/class/net/$iface/device
if [ ! -e "$device" ]; then
    echo "$iface: no device (loopback or virtual interface): no interrupts to place" >&2
    exit 1
fi

[ -n "$cpus" ] || { echo "empty CPU list" >&2; exit 2; }
# The CPU list, checked and expanded: 0,6-7 -> 0 6 7.
for part in $(echo "$cpus" | tr ',' ' '); do
    case "$part" in
        [0-9]* ) ;;
        * ) echo "bad CPU list: $cpus" >&2; exit 2 ;;
    esac
    case "$part" in
        *[!0-9-]* | *-*-* | *- ) echo "bad CPU list: $cpus" >&2; exit 2 ;;
    esac
done
expanded=$(echo "$cpus" | tr ',' '\n' | while IFS=- read -r first last; do
    seq "$first" "${last:-$first}"
done | tr '\n' ' ')
[ -n "$expanded" ] || { echo "bad CPU list: $cpus" >&2; exit 2; }

if [ -d "$device/msi_irqs" ]; then
    irqs=$(ls "$device/msi_irqs")
elif [ -d "$device/../msi_irqs" ]; then
    irqs=$(ls "$device/../msi_irqs")
elif [ -r "$device/irq" ]; then
    irqs=$(cat "$device/irq")
else
    echo "$iface: no interrupt lines found" >&2
    exit 1
fi

set -- $expanded
for irq in $(echo "$irqs" | sort -n); do
    [ -n "$1" ] || set -- $expanded
    cpu=$1
    shift
    set -- "$@" "$cpu"   # round robin: the CPU goes to the back of the list
    name=$(awk -v n="$irq:" '$1 == n { print $NF }' /proc/interrupts)
    now=$(cat "/proc/irq/$irq/smp_affinity_list" 2>/dev/null || echo "?")
    if [ "$apply" = yes ]; then
        if echo "$cpu" > "/proc/irq/$irq/smp_affinity_list" 2>/dev/null; then
            echo "irq $irq ($name): $now -> $cpu"
        else
            echo "irq $irq ($name): $now, cannot be moved (managed by the kernel or not root)" >&2
        fi
    else
        echo "irq $irq ($name): $now -> $cpu   (dry run: echo $cpu > /proc/irq/$irq/smp_affinity_list)"
    fi
done
