# Partition labels and sizes shared by images/*.sh (sourced; needs $arch).
# ext4 labels: 16 characters at most; FAT labels: 11, upper case.
LABEL_ROOT=epn-root
LABEL_DATA=epn-data
case ${arch:-amd64} in
    arm64) LABEL_BOOT=EPN-BOOT; BOOT_MOUNT=/boot/firmware; BOOT_MIB=256 ;;
    *) LABEL_BOOT=EPN-EFI; BOOT_MOUNT=/boot/efi; BOOT_MIB=64 ;;
esac
# The data partition starts small (fits any card) and fills the card at first boot.
DATA_MIB=${DATA_MIB:-256}
