/** A kernel ready to boot and debug. */
export interface KernelArtifacts {
  spec: string;
  /** The kernel release, e.g. 6.1.0-56-cloud-amd64. */
  version: string;
  /** The distro package version, e.g. 6.1.192-2, when it came from a package. */
  packageVersion?: string;
  bzImage: string;
  vmlinux?: string;
  systemMap?: string;
  config?: string;
}
