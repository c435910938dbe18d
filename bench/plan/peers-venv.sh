# Sourced by peers.sh and redo.sh: the throwaway venv with DVC and Snakemake ($VENV), and DVC, SMK,
# dvc_version, smk_version set from it. Needs VENV and the caller's die/note functions.
if ! [ -x "$VENV/bin/dvc" ] || ! [ -x "$VENV/bin/snakemake" ]; then
  note "creating $VENV (dvc 3.67, snakemake 9.27 from PyPI)"
  [ -x "$VENV/bin/python" ] || /usr/bin/python3 -m venv "$VENV"
  if ! "$VENV/bin/pip" install -q 'dvc==3.67.*' 'snakemake==9.27.*'; then
    note "exact versions not installable: taking the newest dvc 3.x and snakemake 9.x instead"
    "$VENV/bin/pip" install -q 'dvc>=3,<4' 'snakemake>=9,<10' || die "pip install of dvc/snakemake failed"
  fi
fi
DVC="$VENV/bin/dvc" SMK="$VENV/bin/snakemake"
dvc_version=$("$DVC" --version) smk_version=$("$SMK" --version)
[[ $dvc_version == 3.67.* ]] || note "NOTE: dvc $dvc_version, not 3.67.x"
[[ $smk_version == 9.27.* ]] || note "NOTE: snakemake $smk_version, not 9.27.x"
