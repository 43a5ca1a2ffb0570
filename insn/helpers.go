package insn

import (
	"strconv"
	"strings"
)

// HelperFunc is the number of a kernel helper function, the immediate of
// "call N" (enum bpf_func_id in include/uapi/linux/bpf.h). The kernel never
// renumbers a helper.
type HelperFunc int32

// Helper numbers: one constant for every helper of enum bpf_func_id, as
// the Linux 6.18 kernel's BTF lists them (helpers 0 to 211; the uapi
// header of Linux 6.1 ends at 209). Each is named after the helper without
// its bpf_ prefix. HelperFunc.String and ParseHelper convert between the
// numbers and the kernel's names.
const (
	FnUnspec                     HelperFunc = 0   // bpf_unspec
	FnMapLookupElem              HelperFunc = 1   // bpf_map_lookup_elem
	FnMapUpdateElem              HelperFunc = 2   // bpf_map_update_elem
	FnMapDeleteElem              HelperFunc = 3   // bpf_map_delete_elem
	FnProbeRead                  HelperFunc = 4   // bpf_probe_read
	FnKtimeGetNs                 HelperFunc = 5   // bpf_ktime_get_ns
	FnTracePrintk                HelperFunc = 6   // bpf_trace_printk
	FnGetPrandomU32              HelperFunc = 7   // bpf_get_prandom_u32
	FnGetSMPProcessorID          HelperFunc = 8   // bpf_get_smp_processor_id
	FnSKBStoreBytes              HelperFunc = 9   // bpf_skb_store_bytes
	FnL3CsumReplace              HelperFunc = 10  // bpf_l3_csum_replace
	FnL4CsumReplace              HelperFunc = 11  // bpf_l4_csum_replace
	FnTailCall                   HelperFunc = 12  // bpf_tail_call
	FnCloneRedirect              HelperFunc = 13  // bpf_clone_redirect
	FnGetCurrentPIDTGID          HelperFunc = 14  // bpf_get_current_pid_tgid
	FnGetCurrentUIDGID           HelperFunc = 15  // bpf_get_current_uid_gid
	FnGetCurrentComm             HelperFunc = 16  // bpf_get_current_comm
	FnGetCgroupClassid           HelperFunc = 17  // bpf_get_cgroup_classid
	FnSKBVLANPush                HelperFunc = 18  // bpf_skb_vlan_push
	FnSKBVLANPop                 HelperFunc = 19  // bpf_skb_vlan_pop
	FnSKBGetTunnelKey            HelperFunc = 20  // bpf_skb_get_tunnel_key
	FnSKBSetTunnelKey            HelperFunc = 21  // bpf_skb_set_tunnel_key
	FnPerfEventRead              HelperFunc = 22  // bpf_perf_event_read
	FnRedirect                   HelperFunc = 23  // bpf_redirect
	FnGetRouteRealm              HelperFunc = 24  // bpf_get_route_realm
	FnPerfEventOutput            HelperFunc = 25  // bpf_perf_event_output
	FnSKBLoadBytes               HelperFunc = 26  // bpf_skb_load_bytes
	FnGetStackid                 HelperFunc = 27  // bpf_get_stackid
	FnCsumDiff                   HelperFunc = 28  // bpf_csum_diff
	FnSKBGetTunnelOpt            HelperFunc = 29  // bpf_skb_get_tunnel_opt
	FnSKBSetTunnelOpt            HelperFunc = 30  // bpf_skb_set_tunnel_opt
	FnSKBChangeProto             HelperFunc = 31  // bpf_skb_change_proto
	FnSKBChangeType              HelperFunc = 32  // bpf_skb_change_type
	FnSKBUnderCgroup             HelperFunc = 33  // bpf_skb_under_cgroup
	FnGetHashRecalc              HelperFunc = 34  // bpf_get_hash_recalc
	FnGetCurrentTask             HelperFunc = 35  // bpf_get_current_task
	FnProbeWriteUser             HelperFunc = 36  // bpf_probe_write_user
	FnCurrentTaskUnderCgroup     HelperFunc = 37  // bpf_current_task_under_cgroup
	FnSKBChangeTail              HelperFunc = 38  // bpf_skb_change_tail
	FnSKBPullData                HelperFunc = 39  // bpf_skb_pull_data
	FnCsumUpdate                 HelperFunc = 40  // bpf_csum_update
	FnSetHashInvalid             HelperFunc = 41  // bpf_set_hash_invalid
	FnGetNUMANodeID              HelperFunc = 42  // bpf_get_numa_node_id
	FnSKBChangeHead              HelperFunc = 43  // bpf_skb_change_head
	FnXDPAdjustHead              HelperFunc = 44  // bpf_xdp_adjust_head
	FnProbeReadStr               HelperFunc = 45  // bpf_probe_read_str
	FnGetSocketCookie            HelperFunc = 46  // bpf_get_socket_cookie
	FnGetSocketUID               HelperFunc = 47  // bpf_get_socket_uid
	FnSetHash                    HelperFunc = 48  // bpf_set_hash
	FnSetsockopt                 HelperFunc = 49  // bpf_setsockopt
	FnSKBAdjustRoom              HelperFunc = 50  // bpf_skb_adjust_room
	FnRedirectMap                HelperFunc = 51  // bpf_redirect_map
	FnSKRedirectMap              HelperFunc = 52  // bpf_sk_redirect_map
	FnSockMapUpdate              HelperFunc = 53  // bpf_sock_map_update
	FnXDPAdjustMeta              HelperFunc = 54  // bpf_xdp_adjust_meta
	FnPerfEventReadValue         HelperFunc = 55  // bpf_perf_event_read_value
	FnPerfProgReadValue          HelperFunc = 56  // bpf_perf_prog_read_value
	FnGetsockopt                 HelperFunc = 57  // bpf_getsockopt
	FnOverrideReturn             HelperFunc = 58  // bpf_override_return
	FnSockOpsCbFlagsSet          HelperFunc = 59  // bpf_sock_ops_cb_flags_set
	FnMsgRedirectMap             HelperFunc = 60  // bpf_msg_redirect_map
	FnMsgApplyBytes              HelperFunc = 61  // bpf_msg_apply_bytes
	FnMsgCorkBytes               HelperFunc = 62  // bpf_msg_cork_bytes
	FnMsgPullData                HelperFunc = 63  // bpf_msg_pull_data
	FnBind                       HelperFunc = 64  // bpf_bind
	FnXDPAdjustTail              HelperFunc = 65  // bpf_xdp_adjust_tail
	FnSKBGetXfrmState            HelperFunc = 66  // bpf_skb_get_xfrm_state
	FnGetStack                   HelperFunc = 67  // bpf_get_stack
	FnSKBLoadBytesRelative       HelperFunc = 68  // bpf_skb_load_bytes_relative
	FnFIBLookup                  HelperFunc = 69  // bpf_fib_lookup
	FnSockHashUpdate             HelperFunc = 70  // bpf_sock_hash_update
	FnMsgRedirectHash            HelperFunc = 71  // bpf_msg_redirect_hash
	FnSKRedirectHash             HelperFunc = 72  // bpf_sk_redirect_hash
	FnLWTPushEncap               HelperFunc = 73  // bpf_lwt_push_encap
	FnLWTSeg6StoreBytes          HelperFunc = 74  // bpf_lwt_seg6_store_bytes
	FnLWTSeg6AdjustSrh           HelperFunc = 75  // bpf_lwt_seg6_adjust_srh
	FnLWTSeg6Action              HelperFunc = 76  // bpf_lwt_seg6_action
	FnRCRepeat                   HelperFunc = 77  // bpf_rc_repeat
	FnRCKeydown                  HelperFunc = 78  // bpf_rc_keydown
	FnSKBCgroupID                HelperFunc = 79  // bpf_skb_cgroup_id
	FnGetCurrentCgroupID         HelperFunc = 80  // bpf_get_current_cgroup_id
	FnGetLocalStorage            HelperFunc = 81  // bpf_get_local_storage
	FnSKSelectReuseport          HelperFunc = 82  // bpf_sk_select_reuseport
	FnSKBAncestorCgroupID        HelperFunc = 83  // bpf_skb_ancestor_cgroup_id
	FnSKLookupTCP                HelperFunc = 84  // bpf_sk_lookup_tcp
	FnSKLookupUDP                HelperFunc = 85  // bpf_sk_lookup_udp
	FnSKRelease                  HelperFunc = 86  // bpf_sk_release
	FnMapPushElem                HelperFunc = 87  // bpf_map_push_elem
	FnMapPopElem                 HelperFunc = 88  // bpf_map_pop_elem
	FnMapPeekElem                HelperFunc = 89  // bpf_map_peek_elem
	FnMsgPushData                HelperFunc = 90  // bpf_msg_push_data
	FnMsgPopData                 HelperFunc = 91  // bpf_msg_pop_data
	FnRCPointerRel               HelperFunc = 92  // bpf_rc_pointer_rel
	FnSpinLock                   HelperFunc = 93  // bpf_spin_lock
	FnSpinUnlock                 HelperFunc = 94  // bpf_spin_unlock
	FnSKFullsock                 HelperFunc = 95  // bpf_sk_fullsock
	FnTCPSock                    HelperFunc = 96  // bpf_tcp_sock
	FnSKBECNSetCe                HelperFunc = 97  // bpf_skb_ecn_set_ce
	FnGetListenerSock            HelperFunc = 98  // bpf_get_listener_sock
	FnSKCLookupTCP               HelperFunc = 99  // bpf_skc_lookup_tcp
	FnTCPCheckSyncookie          HelperFunc = 100 // bpf_tcp_check_syncookie
	FnSysctlGetName              HelperFunc = 101 // bpf_sysctl_get_name
	FnSysctlGetCurrentValue      HelperFunc = 102 // bpf_sysctl_get_current_value
	FnSysctlGetNewValue          HelperFunc = 103 // bpf_sysctl_get_new_value
	FnSysctlSetNewValue          HelperFunc = 104 // bpf_sysctl_set_new_value
	FnStrtol                     HelperFunc = 105 // bpf_strtol
	FnStrtoul                    HelperFunc = 106 // bpf_strtoul
	FnSKStorageGet               HelperFunc = 107 // bpf_sk_storage_get
	FnSKStorageDelete            HelperFunc = 108 // bpf_sk_storage_delete
	FnSendSignal                 HelperFunc = 109 // bpf_send_signal
	FnTCPGenSyncookie            HelperFunc = 110 // bpf_tcp_gen_syncookie
	FnSKBOutput                  HelperFunc = 111 // bpf_skb_output
	FnProbeReadUser              HelperFunc = 112 // bpf_probe_read_user
	FnProbeReadKernel            HelperFunc = 113 // bpf_probe_read_kernel
	FnProbeReadUserStr           HelperFunc = 114 // bpf_probe_read_user_str
	FnProbeReadKernelStr         HelperFunc = 115 // bpf_probe_read_kernel_str
	FnTCPSendAck                 HelperFunc = 116 // bpf_tcp_send_ack
	FnSendSignalThread           HelperFunc = 117 // bpf_send_signal_thread
	FnJiffies64                  HelperFunc = 118 // bpf_jiffies64
	FnReadBranchRecords          HelperFunc = 119 // bpf_read_branch_records
	FnGetNsCurrentPIDTGID        HelperFunc = 120 // bpf_get_ns_current_pid_tgid
	FnXDPOutput                  HelperFunc = 121 // bpf_xdp_output
	FnGetNetnsCookie             HelperFunc = 122 // bpf_get_netns_cookie
	FnGetCurrentAncestorCgroupID HelperFunc = 123 // bpf_get_current_ancestor_cgroup_id
	FnSKAssign                   HelperFunc = 124 // bpf_sk_assign
	FnKtimeGetBootNs             HelperFunc = 125 // bpf_ktime_get_boot_ns
	FnSeqPrintf                  HelperFunc = 126 // bpf_seq_printf
	FnSeqWrite                   HelperFunc = 127 // bpf_seq_write
	FnSKCgroupID                 HelperFunc = 128 // bpf_sk_cgroup_id
	FnSKAncestorCgroupID         HelperFunc = 129 // bpf_sk_ancestor_cgroup_id
	FnRingbufOutput              HelperFunc = 130 // bpf_ringbuf_output
	FnRingbufReserve             HelperFunc = 131 // bpf_ringbuf_reserve
	FnRingbufSubmit              HelperFunc = 132 // bpf_ringbuf_submit
	FnRingbufDiscard             HelperFunc = 133 // bpf_ringbuf_discard
	FnRingbufQuery               HelperFunc = 134 // bpf_ringbuf_query
	FnCsumLevel                  HelperFunc = 135 // bpf_csum_level
	FnSKCToTCP6Sock              HelperFunc = 136 // bpf_skc_to_tcp6_sock
	FnSKCToTCPSock               HelperFunc = 137 // bpf_skc_to_tcp_sock
	FnSKCToTCPTimewaitSock       HelperFunc = 138 // bpf_skc_to_tcp_timewait_sock
	FnSKCToTCPRequestSock        HelperFunc = 139 // bpf_skc_to_tcp_request_sock
	FnSKCToUDP6Sock              HelperFunc = 140 // bpf_skc_to_udp6_sock
	FnGetTaskStack               HelperFunc = 141 // bpf_get_task_stack
	FnLoadHdrOpt                 HelperFunc = 142 // bpf_load_hdr_opt
	FnStoreHdrOpt                HelperFunc = 143 // bpf_store_hdr_opt
	FnReserveHdrOpt              HelperFunc = 144 // bpf_reserve_hdr_opt
	FnInodeStorageGet            HelperFunc = 145 // bpf_inode_storage_get
	FnInodeStorageDelete         HelperFunc = 146 // bpf_inode_storage_delete
	FnDPath                      HelperFunc = 147 // bpf_d_path
	FnCopyFromUser               HelperFunc = 148 // bpf_copy_from_user
	FnSnprintfBTF                HelperFunc = 149 // bpf_snprintf_btf
	FnSeqPrintfBTF               HelperFunc = 150 // bpf_seq_printf_btf
	FnSKBCgroupClassid           HelperFunc = 151 // bpf_skb_cgroup_classid
	FnRedirectNeigh              HelperFunc = 152 // bpf_redirect_neigh
	FnPerCPUPtr                  HelperFunc = 153 // bpf_per_cpu_ptr
	FnThisCPUPtr                 HelperFunc = 154 // bpf_this_cpu_ptr
	FnRedirectPeer               HelperFunc = 155 // bpf_redirect_peer
	FnTaskStorageGet             HelperFunc = 156 // bpf_task_storage_get
	FnTaskStorageDelete          HelperFunc = 157 // bpf_task_storage_delete
	FnGetCurrentTaskBTF          HelperFunc = 158 // bpf_get_current_task_btf
	FnBprmOptsSet                HelperFunc = 159 // bpf_bprm_opts_set
	FnKtimeGetCoarseNs           HelperFunc = 160 // bpf_ktime_get_coarse_ns
	FnIMAInodeHash               HelperFunc = 161 // bpf_ima_inode_hash
	FnSockFromFile               HelperFunc = 162 // bpf_sock_from_file
	FnCheckMTU                   HelperFunc = 163 // bpf_check_mtu
	FnForEachMapElem             HelperFunc = 164 // bpf_for_each_map_elem
	FnSnprintf                   HelperFunc = 165 // bpf_snprintf
	FnSysBpf                     HelperFunc = 166 // bpf_sys_bpf
	FnBTFFindByNameKind          HelperFunc = 167 // bpf_btf_find_by_name_kind
	FnSysClose                   HelperFunc = 168 // bpf_sys_close
	FnTimerInit                  HelperFunc = 169 // bpf_timer_init
	FnTimerSetCallback           HelperFunc = 170 // bpf_timer_set_callback
	FnTimerStart                 HelperFunc = 171 // bpf_timer_start
	FnTimerCancel                HelperFunc = 172 // bpf_timer_cancel
	FnGetFuncIP                  HelperFunc = 173 // bpf_get_func_ip
	FnGetAttachCookie            HelperFunc = 174 // bpf_get_attach_cookie
	FnTaskPtRegs                 HelperFunc = 175 // bpf_task_pt_regs
	FnGetBranchSnapshot          HelperFunc = 176 // bpf_get_branch_snapshot
	FnTraceVprintk               HelperFunc = 177 // bpf_trace_vprintk
	FnSKCToUnixSock              HelperFunc = 178 // bpf_skc_to_unix_sock
	FnKallsymsLookupName         HelperFunc = 179 // bpf_kallsyms_lookup_name
	FnFindVMA                    HelperFunc = 180 // bpf_find_vma
	FnLoop                       HelperFunc = 181 // bpf_loop
	FnStrncmp                    HelperFunc = 182 // bpf_strncmp
	FnGetFuncArg                 HelperFunc = 183 // bpf_get_func_arg
	FnGetFuncRet                 HelperFunc = 184 // bpf_get_func_ret
	FnGetFuncArgCnt              HelperFunc = 185 // bpf_get_func_arg_cnt
	FnGetRetval                  HelperFunc = 186 // bpf_get_retval
	FnSetRetval                  HelperFunc = 187 // bpf_set_retval
	FnXDPGetBuffLen              HelperFunc = 188 // bpf_xdp_get_buff_len
	FnXDPLoadBytes               HelperFunc = 189 // bpf_xdp_load_bytes
	FnXDPStoreBytes              HelperFunc = 190 // bpf_xdp_store_bytes
	FnCopyFromUserTask           HelperFunc = 191 // bpf_copy_from_user_task
	FnSKBSetTstamp               HelperFunc = 192 // bpf_skb_set_tstamp
	FnIMAFileHash                HelperFunc = 193 // bpf_ima_file_hash
	FnKptrXchg                   HelperFunc = 194 // bpf_kptr_xchg
	FnMapLookupPercpuElem        HelperFunc = 195 // bpf_map_lookup_percpu_elem
	FnSKCToMPTCPSock             HelperFunc = 196 // bpf_skc_to_mptcp_sock
	FnDynptrFromMem              HelperFunc = 197 // bpf_dynptr_from_mem
	FnRingbufReserveDynptr       HelperFunc = 198 // bpf_ringbuf_reserve_dynptr
	FnRingbufSubmitDynptr        HelperFunc = 199 // bpf_ringbuf_submit_dynptr
	FnRingbufDiscardDynptr       HelperFunc = 200 // bpf_ringbuf_discard_dynptr
	FnDynptrRead                 HelperFunc = 201 // bpf_dynptr_read
	FnDynptrWrite                HelperFunc = 202 // bpf_dynptr_write
	FnDynptrData                 HelperFunc = 203 // bpf_dynptr_data
	FnTCPRawGenSyncookieIPv4     HelperFunc = 204 // bpf_tcp_raw_gen_syncookie_ipv4
	FnTCPRawGenSyncookieIPv6     HelperFunc = 205 // bpf_tcp_raw_gen_syncookie_ipv6
	FnTCPRawCheckSyncookieIPv4   HelperFunc = 206 // bpf_tcp_raw_check_syncookie_ipv4
	FnTCPRawCheckSyncookieIPv6   HelperFunc = 207 // bpf_tcp_raw_check_syncookie_ipv6
	FnKtimeGetTAINs              HelperFunc = 208 // bpf_ktime_get_tai_ns
	FnUserRingbufDrain           HelperFunc = 209 // bpf_user_ringbuf_drain
	FnCgrpStorageGet             HelperFunc = 210 // bpf_cgrp_storage_get
	FnCgrpStorageDelete          HelperFunc = 211 // bpf_cgrp_storage_delete
)

var helperNames = [...]string{
	"unspec",
	"map_lookup_elem",
	"map_update_elem",
	"map_delete_elem",
	"probe_read",
	"ktime_get_ns",
	"trace_printk",
	"get_prandom_u32",
	"get_smp_processor_id",
	"skb_store_bytes",
	"l3_csum_replace",
	"l4_csum_replace",
	"tail_call",
	"clone_redirect",
	"get_current_pid_tgid",
	"get_current_uid_gid",
	"get_current_comm",
	"get_cgroup_classid",
	"skb_vlan_push",
	"skb_vlan_pop",
	"skb_get_tunnel_key",
	"skb_set_tunnel_key",
	"perf_event_read",
	"redirect",
	"get_route_realm",
	"perf_event_output",
	"skb_load_bytes",
	"get_stackid",
	"csum_diff",
	"skb_get_tunnel_opt",
	"skb_set_tunnel_opt",
	"skb_change_proto",
	"skb_change_type",
	"skb_under_cgroup",
	"get_hash_recalc",
	"get_current_task",
	"probe_write_user",
	"current_task_under_cgroup",
	"skb_change_tail",
	"skb_pull_data",
	"csum_update",
	"set_hash_invalid",
	"get_numa_node_id",
	"skb_change_head",
	"xdp_adjust_head",
	"probe_read_str",
	"get_socket_cookie",
	"get_socket_uid",
	"set_hash",
	"setsockopt",
	"skb_adjust_room",
	"redirect_map",
	"sk_redirect_map",
	"sock_map_update",
	"xdp_adjust_meta",
	"perf_event_read_value",
	"perf_prog_read_value",
	"getsockopt",
	"override_return",
	"sock_ops_cb_flags_set",
	"msg_redirect_map",
	"msg_apply_bytes",
	"msg_cork_bytes",
	"msg_pull_data",
	"bind",
	"xdp_adjust_tail",
	"skb_get_xfrm_state",
	"get_stack",
	"skb_load_bytes_relative",
	"fib_lookup",
	"sock_hash_update",
	"msg_redirect_hash",
	"sk_redirect_hash",
	"lwt_push_encap",
	"lwt_seg6_store_bytes",
	"lwt_seg6_adjust_srh",
	"lwt_seg6_action",
	"rc_repeat",
	"rc_keydown",
	"skb_cgroup_id",
	"get_current_cgroup_id",
	"get_local_storage",
	"sk_select_reuseport",
	"skb_ancestor_cgroup_id",
	"sk_lookup_tcp",
	"sk_lookup_udp",
	"sk_release",
	"map_push_elem",
	"map_pop_elem",
	"map_peek_elem",
	"msg_push_data",
	"msg_pop_data",
	"rc_pointer_rel",
	"spin_lock",
	"spin_unlock",
	"sk_fullsock",
	"tcp_sock",
	"skb_ecn_set_ce",
	"get_listener_sock",
	"skc_lookup_tcp",
	"tcp_check_syncookie",
	"sysctl_get_name",
	"sysctl_get_current_value",
	"sysctl_get_new_value",
	"sysctl_set_new_value",
	"strtol",
	"strtoul",
	"sk_storage_get",
	"sk_storage_delete",
	"send_signal",
	"tcp_gen_syncookie",
	"skb_output",
	"probe_read_user",
	"probe_read_kernel",
	"probe_read_user_str",
	"probe_read_kernel_str",
	"tcp_send_ack",
	"send_signal_thread",
	"jiffies64",
	"read_branch_records",
	"get_ns_current_pid_tgid",
	"xdp_output",
	"get_netns_cookie",
	"get_current_ancestor_cgroup_id",
	"sk_assign",
	"ktime_get_boot_ns",
	"seq_printf",
	"seq_write",
	"sk_cgroup_id",
	"sk_ancestor_cgroup_id",
	"ringbuf_output",
	"ringbuf_reserve",
	"ringbuf_submit",
	"ringbuf_discard",
	"ringbuf_query",
	"csum_level",
	"skc_to_tcp6_sock",
	"skc_to_tcp_sock",
	"skc_to_tcp_timewait_sock",
	"skc_to_tcp_request_sock",
	"skc_to_udp6_sock",
	"get_task_stack",
	"load_hdr_opt",
	"store_hdr_opt",
	"reserve_hdr_opt",
	"inode_storage_get",
	"inode_storage_delete",
	"d_path",
	"copy_from_user",
	"snprintf_btf",
	"seq_printf_btf",
	"skb_cgroup_classid",
	"redirect_neigh",
	"per_cpu_ptr",
	"this_cpu_ptr",
	"redirect_peer",
	"task_storage_get",
	"task_storage_delete",
	"get_current_task_btf",
	"bprm_opts_set",
	"ktime_get_coarse_ns",
	"ima_inode_hash",
	"sock_from_file",
	"check_mtu",
	"for_each_map_elem",
	"snprintf",
	"sys_bpf",
	"btf_find_by_name_kind",
	"sys_close",
	"timer_init",
	"timer_set_callback",
	"timer_start",
	"timer_cancel",
	"get_func_ip",
	"get_attach_cookie",
	"task_pt_regs",
	"get_branch_snapshot",
	"trace_vprintk",
	"skc_to_unix_sock",
	"kallsyms_lookup_name",
	"find_vma",
	"loop",
	"strncmp",
	"get_func_arg",
	"get_func_ret",
	"get_func_arg_cnt",
	"get_retval",
	"set_retval",
	"xdp_get_buff_len",
	"xdp_load_bytes",
	"xdp_store_bytes",
	"copy_from_user_task",
	"skb_set_tstamp",
	"ima_file_hash",
	"kptr_xchg",
	"map_lookup_percpu_elem",
	"skc_to_mptcp_sock",
	"dynptr_from_mem",
	"ringbuf_reserve_dynptr",
	"ringbuf_submit_dynptr",
	"ringbuf_discard_dynptr",
	"dynptr_read",
	"dynptr_write",
	"dynptr_data",
	"tcp_raw_gen_syncookie_ipv4",
	"tcp_raw_gen_syncookie_ipv6",
	"tcp_raw_check_syncookie_ipv4",
	"tcp_raw_check_syncookie_ipv6",
	"ktime_get_tai_ns",
	"user_ringbuf_drain",
	"cgrp_storage_get",
	"cgrp_storage_delete",
}

// String returns the helper's name without the bpf_ prefix, such as
// "map_lookup_elem", or "helper#N" for a number this table does not know.
func (f HelperFunc) String() string {
	if f >= 0 && int(f) < len(helperNames) {
		return helperNames[f]
	}
	return "helper#" + strconv.FormatInt(int64(f), 10)
}

// helperName returns the name String prints for "call n", if n is a
// helper the table knows (not 0, "unspec").
func helperName(n int64) (string, bool) {
	if n > 0 && int(n) < len(helperNames) {
		return helperNames[n], true
	}
	return "", false
}

// ParseHelper returns the helper called name, with or without the "bpf_"
// prefix ("ringbuf_reserve", "bpf_ringbuf_reserve"), and whether there is
// one.
func ParseHelper(name string) (HelperFunc, bool) {
	name = strings.TrimPrefix(name, "bpf_")
	if name == "" || name == "unspec" {
		return 0, false
	}
	f, ok := helperByName[name]
	return f, ok
}

var helperByName = func() map[string]HelperFunc {
	m := make(map[string]HelperFunc, len(helperNames))
	for i, n := range helperNames {
		m[n] = HelperFunc(i)
	}
	return m
}()

// Flags and special values of helper arguments (include/uapi/linux/bpf.h).
const (
	// CurrentCPU (BPF_F_CURRENT_CPU) as the flags argument of
	// perf_event_output, or as the index of perf_event_read, selects the
	// perf event array entry of the CPU the program runs on. It is the
	// low 32 bits all set (BPF_F_INDEX_MASK): the kernel rejects any
	// upper bit, so load it with Mov.Imm32(r, -1) (or LoadImm64), not
	// Mov.Imm(r, -1), which sign-extends to 64 set bits.
	CurrentCPU int64 = 0xffffffff
	// The flags of map_update_elem, for the helper's fourth argument.
	UpdateAny     int32 = 0 // BPF_ANY: create or replace
	UpdateNoExist int32 = 1 // BPF_NOEXIST: create only
	UpdateExist   int32 = 2 // BPF_EXIST: replace only
	UpdateLock    int32 = 4 // BPF_F_LOCK: take the value's bpf_spin_lock
)

// Call returns "call f".
func (f HelperFunc) Call() Instruction { return Call(int32(f)) }
